import Foundation

/// Builds frames byte by byte for the datapath tests and benchmarks, independently of
/// the BPF code: the expected output of every test case is assembled here from the RFC
/// layouts, never derived from what the program produced.
public enum Packet {
    public static let ethIPv4: UInt16 = 0x0800
    public static let ethIPv6: UInt16 = 0x86DD
    public static let ethARP: UInt16 = 0x0806
    public static let ethVLAN: UInt16 = 0x8100

    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let icmp: UInt8 = 1
    public static let icmpv6: UInt8 = 58
    public static let ipip: UInt8 = 4
    public static let ipv6InIP: UInt8 = 41

    public enum TCPFlag {
        public static let fin: UInt8 = 0x01
        public static let syn: UInt8 = 0x02
        public static let rst: UInt8 = 0x04
        public static let psh: UInt8 = 0x08
        public static let ack: UInt8 = 0x10
    }

    // MARK: Addresses

    public static func mac(_ text: String) -> [UInt8] {
        text.split(separator: ":").map { UInt8($0, radix: 16)! }
    }

    public static func ipv4(_ text: String) -> [UInt8] {
        var addr = in_addr()
        precondition(inet_pton(AF_INET, text, &addr) == 1, "bad IPv4 \(text)")
        return withUnsafeBytes(of: &addr) { Array($0) }
    }

    public static func ipv6(_ text: String) -> [UInt8] {
        var addr = in6_addr()
        precondition(inet_pton(AF_INET6, text, &addr) == 1, "bad IPv6 \(text)")
        return withUnsafeBytes(of: &addr) { Array($0) }
    }

    // MARK: Checksums (RFC 1071)

    public static func checksum(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt16 {
        var sum = initial
        var i = 0
        while i + 1 < bytes.count {
            sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    public static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    public static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }

    private static func pseudoHeader(src: [UInt8], dst: [UInt8], proto: UInt8, length: Int) -> [UInt8] {
        if src.count == 4 { return src + dst + [0, proto] + be16(UInt16(length)) }
        return src + dst + be32(UInt32(length)) + [0, 0, 0, proto]
    }

    private static func withChecksum(_ segment: [UInt8], at offset: Int, pseudo: [UInt8]) -> [UInt8] {
        var out = segment
        let sum = checksum(pseudo + segment)
        out[offset] = UInt8(sum >> 8)
        out[offset + 1] = UInt8(sum & 0xff)
        return out
    }

    // MARK: Layers

    public static func ethernet(dst: [UInt8], src: [UInt8], type: UInt16, vlan: UInt16? = nil, payload: [UInt8]) -> [UInt8] {
        var frame = dst + src
        if let vlan { frame += be16(ethVLAN) + be16(vlan) }
        return frame + be16(type) + payload
    }

    public static func ipv4Header(src: [UInt8], dst: [UInt8], proto: UInt8, payloadLength: Int, tos: UInt8 = 0,
                           ttl: UInt8 = 64, id: UInt16 = 0, flagsAndOffset: UInt16 = 0x4000,
                           options: [UInt8] = [], totalLength: Int? = nil) -> [UInt8] {
        let headerLength = 20 + options.count
        var h: [UInt8] = [UInt8(0x40 | (headerLength / 4)), tos]
        h += be16(UInt16(totalLength ?? headerLength + payloadLength))
        h += be16(id) + be16(flagsAndOffset) + [ttl, proto, 0, 0] + src + dst + options
        let sum = checksum(h)
        h[10] = UInt8(sum >> 8)
        h[11] = UInt8(sum & 0xff)
        return h
    }

    public static func ipv4(src: [UInt8], dst: [UInt8], proto: UInt8, payload: [UInt8], tos: UInt8 = 0, ttl: UInt8 = 64,
                     id: UInt16 = 0, flagsAndOffset: UInt16 = 0x4000, options: [UInt8] = []) -> [UInt8] {
        ipv4Header(src: src, dst: dst, proto: proto, payloadLength: payload.count, tos: tos, ttl: ttl, id: id,
                   flagsAndOffset: flagsAndOffset, options: options) + payload
    }

    public static func ipv6(src: [UInt8], dst: [UInt8], nextHeader: UInt8, payload: [UInt8], trafficClass: UInt8 = 0,
                     flowLabel: UInt32 = 0, hopLimit: UInt8 = 64) -> [UInt8] {
        let first = UInt32(6) << 28 | UInt32(trafficClass) << 20 | (flowLabel & 0xfffff)
        return be32(first) + be16(UInt16(payload.count)) + [nextHeader, hopLimit] + src + dst + payload
    }

    public static func tcp(src: [UInt8], dst: [UInt8], sport: UInt16, dport: UInt16, flags: UInt8,
                    seq: UInt32 = 1000, ack: UInt32 = 0, payload: [UInt8] = []) -> [UInt8] {
        let segment = be16(sport) + be16(dport) + be32(seq) + be32(ack) + [0x50, flags] + be16(65535)
            + [0, 0, 0, 0] + payload
        return withChecksum(segment, at: 16, pseudo: pseudoHeader(src: src, dst: dst, proto: Packet.tcp, length: segment.count))
    }

    public static func udp(src: [UInt8], dst: [UInt8], sport: UInt16, dport: UInt16, payload: [UInt8] = []) -> [UInt8] {
        let segment = be16(sport) + be16(dport) + be16(UInt16(8 + payload.count)) + [0, 0] + payload
        return withChecksum(segment, at: 6, pseudo: pseudoHeader(src: src, dst: dst, proto: Packet.udp, length: segment.count))
    }

    /// ICMPv4: type, code, checksum, then the 4-byte "rest of header" and the body.
    public static func icmpv4(type: UInt8, code: UInt8, rest: [UInt8], body: [UInt8]) -> [UInt8] {
        let message = [type, code, 0, 0] + rest + body
        return withChecksum(message, at: 2, pseudo: [])
    }

    public static func icmpv6(src: [UInt8], dst: [UInt8], type: UInt8, code: UInt8, rest: [UInt8], body: [UInt8]) -> [UInt8] {
        let message = [type, code, 0, 0] + rest + body
        return withChecksum(message, at: 2, pseudo: pseudoHeader(src: src, dst: dst, proto: icmpv6, length: message.count))
    }

    public static func arpRequest(senderMAC: [UInt8], senderIP: [UInt8], targetIP: [UInt8]) -> [UInt8] {
        be16(1) + be16(ethIPv4) + [6, 4] + be16(1) + senderMAC + senderIP + [0, 0, 0, 0, 0, 0] + targetIP
    }
}
