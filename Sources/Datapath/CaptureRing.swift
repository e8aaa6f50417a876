import CLBABI
import CLibbpf

/// One record of capture_ring: a frame as the balancer received or sent it.
public struct CapturedFrame: Equatable, Sendable {
    /// CLOCK_MONOTONIC (bpf_ktime_get_ns).
    public var timestampNanoseconds: UInt64
    /// The whole frame's length; `bytes` holds its first snaplen bytes.
    public var frameLength: Int
    public var bytes: [UInt8]
    /// The VIP's index, or LB_CAPTURE_ANY_VIP.
    public var vip: UInt32
    /// LB_CAPTURE_V_* of the packet.
    public var verdicts: UInt32
    /// True for the frame as sent (LB_CAPTURE_STAGE_SENT), false as received.
    public var sent: Bool

    public init(timestampNanoseconds: UInt64, frameLength: Int, bytes: [UInt8], vip: UInt32, verdicts: UInt32, sent: Bool) {
        self.timestampNanoseconds = timestampNanoseconds
        self.frameLength = frameLength
        self.bytes = bytes
        self.vip = vip
        self.verdicts = verdicts
        self.sent = sent
    }

    /// The record's bytes as the program wrote them (a header, then `copied` bytes).
    init?(record data: UnsafeRawBufferPointer) {
        var record = lb_capture_record()
        let header = MemoryLayout<lb_capture_record>.offset(of: \.data) ?? 0
        guard data.count >= header else { return nil }
        withUnsafeMutableBytes(of: &record) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: data.prefix($0.count))) }
        let copied = min(Int(record.copied), data.count - header, Int(LB_CAPTURE_SNAPLEN_MAX))
        self.init(timestampNanoseconds: record.timestamp_ns, frameLength: Int(record.frame_len),
                  bytes: Array(data[header..<header + copied]), vip: record.vip, verdicts: UInt32(record.verdicts),
                  sent: record.stage == LB_CAPTURE_STAGE_SENT)
    }
}

/// A reader of capture_ring (libbpf's ring_buffer): `consume` returns the records
/// written since the last call, without waiting. One reader at a time.
public final class CaptureRing {
    private final class Collector {
        var frames: [CapturedFrame] = []
    }

    private let ring: OpaquePointer
    private let collector: Unmanaged<Collector>

    init(fd: FileDescriptor) throws {
        collector = Unmanaged.passRetained(Collector())
        let callback: ring_buffer_sample_fn = { context, data, size in
            guard let context, let data else { return 0 }
            let collector = Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue()
            if let frame = CapturedFrame(record: UnsafeRawBufferPointer(start: data, count: size)) {
                collector.frames.append(frame)
            }
            return 0
        }
        guard let ring = ring_buffer__new(fd.raw, callback, collector.toOpaque(), nil) else {
            collector.release()
            throw DatapathError.lastErrno("open the capture ring buffer")
        }
        self.ring = ring
    }

    deinit {
        ring_buffer__free(ring)
        collector.release()
    }

    public func consume() throws -> [CapturedFrame] {
        let result = ring_buffer__consume(ring)
        guard result >= 0 else { throw DatapathError.system("read the capture ring buffer", code: result) }
        let frames = collector.takeUnretainedValue().frames
        collector.takeUnretainedValue().frames = []
        return frames
    }
}

extension BalancerDatapath {
    /// A reader of the capture ring buffer.
    public func openCaptureRing() throws -> CaptureRing {
        try CaptureRing(fd: captureRing)
    }

    /// The running capture's counters summed across CPUs: matched, copied, lost.
    public func captureCounters() throws -> lb_capture_stats {
        try captureStats.summed(key: 0)
    }
}
