import Datapath

/// Captured frames as a pcap file (the libpcap format tcpdump and Wireshark read):
/// nanosecond timestamps, Ethernet link type, little-endian.
enum PcapFile {
    static let nanosecondMagic: UInt32 = 0xa1b2_3c4d
    static let linkTypeEthernet: UInt32 = 1

    /// `frames` in order; `realtimeOffset` turns their CLOCK_MONOTONIC timestamps into
    /// wall-clock time (CLOCK_REALTIME − CLOCK_MONOTONIC, in nanoseconds).
    static func bytes(_ frames: [CapturedFrame], snaplen: Int, realtimeOffset: Int64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(24 + frames.reduce(0) { $0 + 16 + $1.bytes.count })
        append(nanosecondMagic, to: &out)
        append(UInt16(2), to: &out)  // version 2.4
        append(UInt16(4), to: &out)
        append(UInt32(0), to: &out)  // thiszone
        append(UInt32(0), to: &out)  // sigfigs
        append(UInt32(snaplen), to: &out)
        append(linkTypeEthernet, to: &out)
        for frame in frames {
            let time = UInt64(max(0, Int64(bitPattern: frame.timestampNanoseconds) &+ realtimeOffset))
            append(UInt32(truncatingIfNeeded: time / 1_000_000_000), to: &out)
            append(UInt32(time % 1_000_000_000), to: &out)
            append(UInt32(frame.bytes.count), to: &out)
            append(UInt32(frame.frameLength), to: &out)
            out += frame.bytes
        }
        return out
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }
}
