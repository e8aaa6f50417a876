import CLBABI
import Datapath
import PacketCraft
import XCTest

/// Who opens connections (issue 16): while flood_config says `counting` or has a limit,
/// source_flows counts every new flow per (VIP, client prefix), and the per-source limit
/// drops the flows over it.
final class SourcesTests: BalancerTestCase {
    /// One entry of source_flows as the tests compare it: the timestamps checked apart.
    private struct Counted: Hashable, CustomStringConvertible {
        var vip: UInt32
        var generation: UInt16
        var prefix: String
        var newFlows: UInt64
        var refused: UInt64
        var windowFlows: UInt64

        var description: String { "vip \(vip)/\(generation) \(prefix): \(newFlows) new, \(refused) refused, \(windowFlows) in window" }
    }

    /// source_flows, with every timestamp checked to lie between `since` and now.
    private func sources(since: UInt64, file: StaticString = #filePath, line: UInt = #line) throws -> Set<Counted> {
        let now = BalancerDatapath.coarseMonotonicNanoseconds()
        return Set(try lb.datapath.sourceEntries().map { entry in
            let (key, flows) = (entry.key, entry.flows)
            XCTAssertTrue(since <= flows.first_seen_ns && flows.first_seen_ns <= flows.last_seen_ns && flows.last_seen_ns <= now,
                          "timestamps \(flows.first_seen_ns) ... \(flows.last_seen_ns) outside \(since) ... \(now)", file: file, line: line)
            let bytes = withUnsafeBytes(of: key.prefix) { Array($0) }
            let address = key.family == LB_FAMILY_V4 ? bytes[0..<4].map(String.init).joined(separator: ".")
                : stride(from: 0, to: 16, by: 2).map { String(format: "%x", Int(bytes[$0]) << 8 | Int(bytes[$0 + 1])) }
                    .joined(separator: ":")
            return Counted(vip: key.vip, generation: key.vip_generation, prefix: "\(address)/\(key.prefix_len)",
                           newFlows: flows.new_flows, refused: flows.refused, windowFlows: flows.window_flows)
        })
    }

    private func setFlood(limit: UInt32 = 0, v4: UInt8 = 0, v6: UInt8 = 0, counting: UInt16 = 1) throws {
        try lb.datapath.floodConfig.update(key: 0, value: lb_flood_config(per_source_new_flows: limit, prefix_v4: v4,
                                                                          prefix_v6: v6, counting: counting,
                                                                          new_flows_per_cpu: 0))
    }

    private func syn(from client: [UInt8], sport: UInt16) -> [UInt8] {
        tcp4(from: client, sport: sport, flags: Packet.TCPFlag.syn)
    }

    private func syn6(from client: [UInt8], sport: UInt16) -> [UInt8] {
        let segment = Packet.tcp(src: client, dst: vip6, sport: sport, dport: 443, flags: Packet.TCPFlag.syn)
        return Packet.ipv6(src: client, dst: vip6, nextHeader: Packet.tcp, payload: segment)
    }

    /// Nobody looks (no window open, no limit): a new flow updates no source_flows entry.
    func testWithoutCountingOrALimitNewFlowsLeaveSourceFlowsEmpty() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.addVIP(vip4, port: 53, proto: Packet.udp, index: 1, ring: [b])
        try assertSent(syn(from: client4, sport: 40000), from: client4, sport: 40000, to: backendA)
        try assertSent(udp4(), from: client4, sport: 5353, to: backendB)
        try setFlood(v4: 16, counting: 0)
        try assertSent(syn(from: client4, sport: 40001), from: client4, sport: 40001, to: backendA)
        XCTAssertEqual(try sources(since: 0), [])
        XCTAssertEqual(try lb.datapath.sourceRefusals(), 0)
    }

    func testEveryNewFlowIsCountedForItsVIPAndClientPrefixOnly() throws {
        let since = BalancerDatapath.coarseMonotonicNanoseconds()
        try setFlood()
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a], generation: 7)
        try lb.addVIP(vip4, port: 53, proto: Packet.udp, index: 1, ring: [b])
        try lb.addVIP(vip6, port: 443, proto: Packet.tcp, index: 2, ring: [c6])
        try lb.addVIP(vip4, port: 443, proto: Packet.tcp, index: 3, ring: [])
        let near = Packet.ipv4("198.51.100.200"), far = Packet.ipv4("203.0.113.9")
        for sport in UInt16(40000)..<40005 { try assertSent(syn(from: client4, sport: sport), from: client4, sport: sport, to: backendA) }
        for sport in UInt16(50000)..<50002 { try assertSent(syn(from: near, sport: sport), from: near, sport: sport, to: backendA) }
        for sport in UInt16(40000)..<40003 { try assertSent(syn(from: far, sport: sport), from: far, sport: sport, to: backendA) }
        // Established packets, an RST and SYNs to a VIP without backends open no flow.
        let ack = tcp4(sport: 40000, flags: Packet.TCPFlag.ack)
        try assertSent(ack, from: client4, sport: 40000, to: backendA)
        let rst = tcp4(from: far, sport: 41000, flags: Packet.TCPFlag.rst)
        try assertSent(rst, from: far, sport: 41000, to: backendA)
        try assertRun(frame(tcp4(dport: 443, flags: Packet.TCPFlag.syn)), action: XDP_DROP_)
        // A new UDP flow counts for its own VIP; its next datagram does not.
        try assertSent(udp4(), from: client4, sport: 5353, to: backendB)
        try assertSent(udp4(), from: client4, sport: 5353, to: backendB)
        // IPv6 clients are grouped per /64.
        let sameNetwork = Packet.ipv6("2001:db8:c::1:5"), otherNetwork = Packet.ipv6("2001:db8:c:1::7")
        for (client, sport) in [(client6, UInt16(40000)), (sameNetwork, 40001), (otherNetwork, 40002)] {
            let packet = syn6(from: client, sport: sport)
            try assertRun(frame(packet), action: XDP_TX_, output: ip6ip6(packet, client: client, sport: sport, backend: backendC6))
        }
        XCTAssertEqual(try sources(since: since), [
            Counted(vip: 0, generation: 7, prefix: "198.51.100.0/24", newFlows: 7, refused: 0, windowFlows: 7),
            Counted(vip: 0, generation: 7, prefix: "203.0.113.0/24", newFlows: 3, refused: 0, windowFlows: 3),
            Counted(vip: 1, generation: 0, prefix: "198.51.100.0/24", newFlows: 1, refused: 0, windowFlows: 1),
            Counted(vip: 2, generation: 0, prefix: "2001:db8:c:0:0:0:0:0/64", newFlows: 2, refused: 0, windowFlows: 2),
            Counted(vip: 2, generation: 0, prefix: "2001:db8:c:1:0:0:0:0/64", newFlows: 1, refused: 0, windowFlows: 1),
        ])
        XCTAssertEqual(try lb.datapath.sourceRefusals(), 0)
    }

    func testThePrefixLengthsComeFromFloodConfig() throws {
        let since = BalancerDatapath.coarseMonotonicNanoseconds()
        try setFlood(v4: 16, v6: 128)
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.addVIP(vip6, port: 443, proto: Packet.tcp, index: 2, ring: [c6])
        for (client, sport) in [(client4, UInt16(40000)), (Packet.ipv4("198.51.7.1"), 40001), (Packet.ipv4("198.52.0.1"), 40002)] {
            try assertSent(syn(from: client, sport: sport), from: client, sport: sport, to: backendA)
        }
        let packet = syn6(from: client6, sport: 40000)
        try assertRun(frame(packet), action: XDP_TX_, output: ip6ip6(packet, client: client6, sport: 40000, backend: backendC6))
        XCTAssertEqual(try sources(since: since), [
            Counted(vip: 0, generation: 0, prefix: "198.51.0.0/16", newFlows: 2, refused: 0, windowFlows: 2),
            Counted(vip: 0, generation: 0, prefix: "198.52.0.0/16", newFlows: 1, refused: 0, windowFlows: 1),
            Counted(vip: 2, generation: 0, prefix: "2001:db8:c:0:0:0:0:7/128", newFlows: 1, refused: 0, windowFlows: 1),
        ])
    }

    /// The limit counts per one-second window. The noisy prefix's window is made to last
    /// (it starts an hour from now), so the test does not depend on how fast it runs; the
    /// quiet prefix stays under the limit whatever its window does.
    func testNewFlowsOverThePerSourceLimitAreDroppedAndCounted() throws {
        let since = BalancerDatapath.coarseMonotonicNanoseconds()
        try setFlood(limit: 3, counting: 0) // the limit counts on its own
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        var noisy = lb_source_key()
        noisy.prefix = ABIAddress.words(Packet.ipv4("198.51.100.0"))
        noisy.family = UInt8(LB_FAMILY_V4)
        noisy.prefix_len = 24
        let lasting = since + 3_600_000_000_000
        try lb.datapath.sourceFlows.update(key: noisy, value: lb_source_flows(
            new_flows: 0, refused: 0, first_seen_ns: since, last_seen_ns: since, window_start_ns: lasting, window_flows: 0))
        for sport in UInt16(40000)..<40003 { try assertSent(syn(from: client4, sport: sport), from: client4, sport: sport, to: backendA) }
        for sport in UInt16(40003)..<40005 {
            try assertRun(frame(syn(from: client4, sport: sport)), action: XDP_DROP_)
            XCTAssertEqual(try lb.connectionBackends(lb.flowKey(src: client4, dst: vip4, sport: sport, dport: 80, proto: Packet.tcp)), [])
        }
        // A packet of an admitted flow is no new flow: it passes.
        let ack = tcp4(sport: 40001, flags: Packet.TCPFlag.ack)
        try assertSent(ack, from: client4, sport: 40001, to: backendA)
        let quiet = Packet.ipv4("203.0.113.9")
        for sport in UInt16(40000)..<40003 { try assertSent(syn(from: quiet, sport: sport), from: quiet, sport: sport, to: backendA) }

        XCTAssertEqual(try lb.datapath.sourceFlows.lookup(key: noisy)?.window_start_ns, lasting)
        XCTAssertEqual(try sources(since: since), [
            Counted(vip: 0, generation: 0, prefix: "198.51.100.0/24", newFlows: 5, refused: 2, windowFlows: 5),
            Counted(vip: 0, generation: 0, prefix: "203.0.113.0/24", newFlows: 3, refused: 0, windowFlows: 3),
        ])
        XCTAssertEqual(try lb.datapath.sourceRefusals(), 2)
        let flows = try lb.datapath.vipFlows(index: 0)
        XCTAssertEqual([flows.syns, flows.new_flows], [8, 6])
        CounterDelta([UInt64](repeating: 0, count: Int(LB_STAT_COUNT.rawValue)), try lb.counters())
            .assertOnly([LB_STAT_RX: 9, LB_STAT_CONN_HIT: 1, LB_STAT_NEW_FLOW: 6, LB_STAT_XDP_TX: 7, LB_STAT_XDP_DROP: 2])
    }
}
