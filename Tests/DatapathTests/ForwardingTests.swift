import CLBABI
import PacketCraft
import XCTest

/// New and established flows: exact encapsulated bytes, connection entries and counters.
final class ForwardingTests: BalancerTestCase {
    func testIPv4SynIsEncapsulatedToTheRingBackendAndRemembered() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        let syn = tcp4(flags: Packet.TCPFlag.syn, tos: 0x28)
        let before = try lb.counters()
        try assertRun(frame(syn), action: XDP_TX_, output: ipip(syn, client: client4, sport: 40000, backend: backendA, tos: 0x28))
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_NEW_FLOW: 1, LB_STAT_XDP_TX: 1])
        let key = lb.flowKey(src: client4, dst: vip4, sport: 40000, dport: 80, proto: Packet.tcp)
        XCTAssertEqual(try lb.connectionBackends(key), [a])
        let vipTraffic = try lb.datapath.vipTraffic(index: 0)
        XCTAssertEqual(vipTraffic.packets, 1)
        XCTAssertEqual(vipTraffic.bytes, UInt64(syn.count))
        XCTAssertEqual(try lb.datapath.backendTraffic(index: a).packets, 1)
    }

    func testIPv4AckOfAnEstablishedFlowHitsTheConnectionTable() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.run(frame(tcp4(flags: Packet.TCPFlag.syn)))
        let ack = tcp4(flags: Packet.TCPFlag.ack, payload: Array("GET / HTTP/1.0\r\n\r\n".utf8))
        let before = try lb.counters()
        try assertRun(frame(ack), action: XDP_TX_, output: ipip(ack, client: client4, sport: 40000, backend: backendA))
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_CONN_HIT: 1, LB_STAT_XDP_TX: 1])
    }

    func testRstIsForwardedButNeverCreatesAnEntry() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        let rst = tcp4(sport: 41000, flags: Packet.TCPFlag.rst)
        let before = try lb.counters()
        try assertRun(frame(rst), action: XDP_TX_, output: ipip(rst, client: client4, sport: 41000, backend: backendA))
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_CONN_MISS_TCP: 1, LB_STAT_XDP_TX: 1])
        let key = lb.flowKey(src: client4, dst: vip4, sport: 41000, dport: 80, proto: Packet.tcp)
        XCTAssertEqual(try lb.connectionBackends(key), [])
    }

    func testIPv4UDPIsEncapsulatedAndRememberedWithItsTime() throws {
        try lb.addVIP(vip4, port: 53, proto: Packet.udp, index: 1, ring: [b])
        let datagram = udp4()
        let before = try lb.counters()
        try assertRun(frame(datagram), action: XDP_TX_, output: ipip(datagram, client: client4, sport: 5353, backend: backendB))
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_CONN_MISS_UDP: 1, LB_STAT_NEW_FLOW: 1, LB_STAT_XDP_TX: 1])
        let key = lb.flowKey(src: client4, dst: vip4, sport: 5353, dport: 53, proto: Packet.udp)
        let entry = try XCTUnwrap(try lb.datapath.connTable.lookup(key: key))
        XCTAssertEqual(entry.backend, b)
        XCTAssertEqual(entry.vip, 1)
        XCTAssertGreaterThan(entry.last_seen_ns, 0)
    }

    func testIPv6TCPIsEncapsulatedInIPv6() throws {
        try lb.addVIP(vip6, port: 443, proto: Packet.tcp, index: 2, ring: [c6])
        let syn = tcp6(flags: Packet.TCPFlag.syn, trafficClass: 0xb8)
        let before = try lb.counters()
        try assertRun(frame(syn), action: XDP_TX_, output: ip6ip6(syn, client: client6, sport: 40000, backend: backendC6, trafficClass: 0xb8))
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_NEW_FLOW: 1, LB_STAT_XDP_TX: 1])
        let ack = tcp6(flags: Packet.TCPFlag.ack, payload: [1, 2, 3])
        try assertRun(frame(ack), action: XDP_TX_, output: ip6ip6(ack, client: client6, sport: 40000, backend: backendC6))
    }

    func testIPv6UDPIsEncapsulatedInIPv6() throws {
        try lb.addVIP(vip6, port: 53, proto: Packet.udp, index: 2, ring: [d6])
        let datagram = udp6()
        try assertRun(frame(datagram), action: XDP_TX_, output: ip6ip6(datagram, client: client6, sport: 5353, backend: backendD6))
    }

    func testIPv4VIPWithAnIPv6BackendIsEncapsulatedFourInSix() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [c6])
        let syn = tcp4(flags: Packet.TCPFlag.syn, tos: 0x10)
        try assertRun(frame(syn), action: XDP_TX_, output: ip6ip6(syn, client: client4, sport: 40000, backend: backendC6, trafficClass: 0x10))
    }

    func testIPv6VIPNeverSendsToAnIPv4Backend() throws {
        try lb.addVIP(vip6, port: 443, proto: Packet.tcp, index: 2, ring: [a])
        let before = try lb.counters()
        try assertRun(frame(tcp6(flags: Packet.TCPFlag.syn)), action: XDP_DROP_, output: frame(tcp6(flags: Packet.TCPFlag.syn)))
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_NEW_FLOW: 1, LB_STAT_ENCAP_ERROR: 1, LB_STAT_XDP_DROP: 1])
    }

    func testPortZeroVIPCatchesEveryPortButAnExactVIPWins() throws {
        try lb.addVIP(vip4, port: 0, proto: Packet.tcp, index: 0, ring: [a])
        try lb.addVIP(vip4, port: 8443, proto: Packet.tcp, index: 1, ring: [b])
        for port: UInt16 in [22, 80, 65535] {
            let syn = tcp4(dport: port, flags: Packet.TCPFlag.syn)
            try assertRun(frame(syn), action: XDP_TX_, output: ipip(syn, client: client4, sport: 40000, backend: backendA))
        }
        let exact = tcp4(dport: 8443, flags: Packet.TCPFlag.syn)
        try assertRun(frame(exact), action: XDP_TX_, output: ipip(exact, client: client4, sport: 40000, backend: backendB))
        let udp = udp4(dport: 22)
        try assertRun(frame(udp), action: XDP_PASS_)
        XCTAssertEqual(try lb.datapath.vipTraffic(index: 0).packets, 3)
    }

    func testVLANTaggedFrameKeepsItsTag() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        let syn = tcp4(flags: Packet.TCPFlag.syn)
        try assertRun(frame(syn, vlan: 42), action: XDP_TX_, output: ipip(syn, client: client4, sport: 40000, backend: backendA, vlan: 42))
    }

    func testOuterSourceIsStablePerFlowAndSpreadAcrossClients() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        var sources = Set<[UInt8]>()
        for port in UInt16(30000)..<30032 {
            let first = try lb.run(frame(tcp4(sport: port, flags: Packet.TCPFlag.syn))).output
            let second = try lb.run(frame(tcp4(sport: port, flags: Packet.TCPFlag.ack))).output
            XCTAssertEqual(Array(first[26..<30]), Array(second[26..<30]), "one flow, one outer source")
            XCTAssertEqual(Array(first[26..<28]), [172, 16], "inside the configured prefix")
            sources.insert(Array(first[26..<30]))
        }
        XCTAssertGreaterThanOrEqual(sources.count, 30, "32 flows should use (almost) 32 outer sources")
    }
}
