import CLBABI
import Foundation
import PacketCraft
import XCTest
import TestSupport

/// Random and mutated frames through the balancer: it must never abort, and every frame
/// must get what an independent model of the balancer predicts: passed untouched,
/// dropped, or transmitted as exactly the bytes the model builds.
final class FuzzTests: BalancerTestCase {
    static let frames = Int(ProcessInfo.processInfo.environment["LBD_FUZZ_FRAMES"] ?? "") ?? 1_000_000

    func testRandomAndMutatedFramesGetWhatAnIndependentModelPredicts() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a, b])
        try lb.addVIP(vip4, port: 0, proto: Packet.udp, index: 1, ring: [c6])
        try lb.addVIP(vip6, port: 443, proto: Packet.tcp, index: 2, ring: [d6])
        let seed = ProcessInfo.processInfo.environment["LBD_FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        print("fuzz seed \(seed) (replay: LBD_FUZZ_SEED=\(seed)), \(Self.frames) frames")
        var rng = SplitMix64(seed: seed)
        let model = BalancerModel(
            vips: [.init(address: vip4, port: 80, proto: Packet.tcp, index: 0), .init(address: vip4, port: 0, proto: Packet.udp, index: 1),
                   .init(address: vip6, port: 443, proto: Packet.tcp, index: 2)],
            backends: [a: backendA, b: backendB, c6: backendC6, d6: backendD6],
            ringBackend: { [fixture = lb!] vip, hash in fixture.expectedBackend(vip: vip, hash: hash) },
            mtu: 1500, gatewayMAC: lb.gatewayMAC,
            encapV4: (lb.encapPrefixV4, lb.encapMaskV4), encapV6: (lb.encapPrefixV6, lb.encapMaskV6))
        let templates = seedFrames()
        var seen: [String: Int] = [:]
        for i in 0..<Self.frames {
            let input = mutate(templates[Int(rng.next() % UInt64(templates.count))], &rng)
            guard input.count >= 14 else { continue }
            let result = try lb.run(input)
            let expected = model.outcome(input)
            seen[expected.name, default: 0] += 1
            if let failure = expected.mismatch(action: result.action, output: result.output, input: input) {
                return XCTFail("frame \(i) (seed \(seed)): \(failure)\n input \(hex(input))\n got   \(hex(result.output))")
            }
        }
        print("fuzz: \(seen.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        for outcome in ["pass", "drop", "encapsulated", "echo reply", "too big"] {
            XCTAssertGreaterThan(seen[outcome, default: 0], Self.frames / 1000, "the mutations should leave some frames of each outcome: \(outcome)")
        }
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
        let big6 = tcp6(flags: Packet.TCPFlag.ack, payload: (0..<1430).map { UInt8(truncatingIfNeeded: $0) })
        let packets = [tcp4(flags: Packet.TCPFlag.syn), tcp4(flags: Packet.TCPFlag.ack, payload: [1, 2, 3]), udp4(), udp4(dport: 9999),
                       tcp6(flags: Packet.TCPFlag.syn), udp6(), echo, fragNeeded, ptb, hopByHop, big, big6,
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

