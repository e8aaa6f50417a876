import CLBABI
import Foundation
import PacketCraft
import XCTest
import TestSupport

/// Random and mutated frames through the balancer: it must never abort, and it may only
/// transmit what an independent parser accepts as a packet the balancer owns.
final class FuzzTests: BalancerTestCase {
    static let frames = Int(ProcessInfo.processInfo.environment["LBD_FUZZ_FRAMES"] ?? "") ?? 1_000_000

    func testRandomAndMutatedFramesNeverAbortAndOnlyValidVIPPacketsAreTransmitted() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a, b])
        try lb.addVIP(vip4, port: 0, proto: Packet.udp, index: 1, ring: [c6])
        try lb.addVIP(vip6, port: 443, proto: Packet.tcp, index: 2, ring: [d6])
        let seed = ProcessInfo.processInfo.environment["LBD_FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        print("fuzz seed \(seed) (replay: LBD_FUZZ_SEED=\(seed)), \(Self.frames) frames")
        var rng = SplitMix64(seed: seed)
        let oracle = OwnedPacketOracle(vips: [(vip4, 80, Packet.tcp), (vip4, 0, Packet.udp), (vip6, 443, Packet.tcp)])
        let templates = seedFrames()
        var transmitted = 0
        for i in 0..<Self.frames {
            let input = mutate(templates[Int(rng.next() % UInt64(templates.count))], &rng)
            guard input.count >= 14 else { continue }
            let result = try lb.run(input)
            if result.action == XDP_ABORTED_ || result.action > XDP_TX_ {
                return XCTFail("frame \(i) (seed \(seed)) got action \(result.action): \(hex(input))")
            }
            if result.action == XDP_TX_ {
                transmitted += 1
                if !oracle.owns(input) {
                    return XCTFail("frame \(i) (seed \(seed)) was transmitted but is not a valid VIP packet: \(hex(input))")
                }
            }
        }
        print("fuzz: \(transmitted) of \(Self.frames) frames transmitted")
        XCTAssertGreaterThan(transmitted, Self.frames / 100, "the mutations should leave some valid VIP packets")
    }

    private func seedFrames() -> [[UInt8]] {
        let echo = Packet.ipv4(src: client4, dst: vip4, proto: Packet.icmp, payload: Packet.icmpv4(type: 8, code: 0, rest: [0, 1, 0, 1], body: [1, 2]))
        let sent = Packet.ipv4(src: vip4, dst: client4, proto: Packet.tcp, payload: Packet.tcp(src: vip4, dst: client4, sport: 80, dport: 40000, flags: Packet.TCPFlag.ack))
        let fragNeeded = Packet.ipv4(src: Packet.ipv4("203.0.113.1"), dst: vip4, proto: Packet.icmp,
                                     payload: Packet.icmpv4(type: 3, code: 4, rest: [0, 0, 5, 0], body: Array(sent[0..<28])))
        let sent6 = Packet.ipv6(src: vip6, dst: client6, nextHeader: Packet.tcp, payload: Packet.tcp(src: vip6, dst: client6, sport: 443, dport: 1, flags: Packet.TCPFlag.ack))
        let ptb = Packet.ipv6(src: client6, dst: vip6, nextHeader: Packet.icmpv6, payload: Packet.icmpv6(src: client6, dst: vip6, type: 2, code: 0, rest: Packet.be32(1280), body: sent6))
        let hopByHop = Packet.ipv6(src: client6, dst: vip6, nextHeader: 0, payload: [Packet.tcp, 0, 1, 4, 0, 0, 0, 0] + Packet.tcp(src: client6, dst: vip6, sport: 1, dport: 443, flags: Packet.TCPFlag.syn))
        let big = tcp4(flags: Packet.TCPFlag.ack, payload: [UInt8](repeating: 0, count: 1470))
        let packets = [tcp4(flags: Packet.TCPFlag.syn), tcp4(flags: Packet.TCPFlag.ack, payload: [1, 2, 3]), udp4(), udp4(dport: 9999),
                       tcp6(flags: Packet.TCPFlag.syn), udp6(), echo, fragNeeded, ptb, hopByHop, big,
                       tcp4(to: Packet.ipv4("10.9.9.9"), flags: Packet.TCPFlag.syn)]
        return packets.flatMap { [frame($0), frame($0, vlan: 5)] }
            + [Packet.ethernet(dst: lb.lbMAC, src: lb.routerMAC, type: Packet.ethARP, payload: [UInt8](repeating: 0, count: 28))]
    }

    /// One of: truncate, corrupt bytes, corrupt the header fields that steer parsing, or noise.
    private func mutate(_ template: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var frame = template
        switch rng.next() % 6 {
        case 0:
            frame = Array(frame[0..<Int(rng.next() % UInt64(frame.count + 1))])
        case 1:
            for _ in 0...(rng.next() % 4) {
                frame[Int(rng.next() % UInt64(frame.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
        case 2:
            // IHL / version, lengths, protocol, fragment fields, next header, TCP offset
            let steering = [12, 13, 14, 16, 17, 18, 19, 20, 21, 22, 23, 24, 46, 50, 58]
            let at = steering[Int(rng.next() % UInt64(steering.count))]
            if at < frame.count { frame[at] = UInt8(truncatingIfNeeded: rng.next()) }
        case 3:
            frame += (0..<(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 4:
            frame = (0..<(14 + rng.next() % 120)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if rng.next() % 2 == 0 { frame[12] = 0x08; frame[13] = 0x00 }
        default:
            break
        }
        return frame
    }
}

/// An independent reading of a frame: is it a packet the balancer owns and may transmit for?
struct OwnedPacketOracle {
    let vips: [(address: [UInt8], port: UInt16, proto: UInt8)]

    func owns(_ f: [UInt8]) -> Bool {
        guard f.count >= 14 else { return false }
        var l3 = 14
        var type = UInt16(f[12]) << 8 | UInt16(f[13])
        if type == 0x8100 {
            guard f.count >= 18 else { return false }
            type = UInt16(f[16]) << 8 | UInt16(f[17]); l3 = 18
        }
        if type == 0x0800 { return ownsIPv4(f, l3) }
        if type == 0x86DD { return ownsIPv6(f, l3) }
        return false
    }

    private func isVIPAddress(_ a: ArraySlice<UInt8>) -> Bool { vips.contains { $0.address[...] == a } }

    private func isVIP(_ a: ArraySlice<UInt8>, _ port: UInt16, _ proto: UInt8) -> Bool {
        vips.contains { $0.address[...] == a && $0.proto == proto && ($0.port == port || $0.port == 0) }
    }

    private func ownsIPv4(_ f: [UInt8], _ l3: Int) -> Bool {
        guard f.count >= l3 + 20, f[l3] == 0x45 else { return false }
        let total = Int(f[l3 + 2]) << 8 | Int(f[l3 + 3])
        let fragment = (UInt16(f[l3 + 6]) << 8 | UInt16(f[l3 + 7])) & 0x3fff
        guard total >= 20, l3 + total <= f.count, fragment == 0 else { return false }
        return ownsTransport(f, l4: l3 + 20, proto: f[l3 + 9], dst: f[l3 + 16..<l3 + 20], icmp: Packet.icmp)
    }

    private func ownsIPv6(_ f: [UInt8], _ l3: Int) -> Bool {
        guard f.count >= l3 + 40, f[l3] >> 4 == 6 else { return false }
        let payload = Int(f[l3 + 4]) << 8 | Int(f[l3 + 5])
        guard l3 + 40 + payload <= f.count else { return false }
        return ownsTransport(f, l4: l3 + 40, proto: f[l3 + 6], dst: f[l3 + 24..<l3 + 40], icmp: Packet.icmpv6)
    }

    private func ownsTransport(_ f: [UInt8], l4: Int, proto: UInt8, dst: ArraySlice<UInt8>, icmp: UInt8) -> Bool {
        if proto == icmp {
            guard f.count >= l4 + 4, isVIPAddress(dst) else { return false }
            let (type, code) = (f[l4], f[l4 + 1])
            return icmp == Packet.icmp ? type == 8 || (type == 3 && code == 4) : type == 128 || type == 2
        }
        guard proto == Packet.tcp || proto == Packet.udp, f.count >= l4 + (proto == Packet.tcp ? 20 : 8) else { return false }
        if proto == Packet.tcp && f[l4 + 12] >> 4 < 5 { return false }
        return isVIP(dst, UInt16(f[l4 + 2]) << 8 | UInt16(f[l4 + 3]), proto)
    }
}
