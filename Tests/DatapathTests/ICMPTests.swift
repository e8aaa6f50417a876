import CLBABI
import PacketCraft
import XCTest

/// Echo replies from the balancer, path-MTU errors routed to the owning backend,
/// and too-big errors generated for packets that would not fit once encapsulated.
final class ICMPTests: BalancerTestCase {
    let router = Packet.ipv4("203.0.113.1")
    let router6 = Packet.ipv6("2001:db8:ffff::1")

    private func reply(_ ipPacket: [UInt8]) -> [UInt8] {
        let type = ipPacket[0] >> 4 == 6 ? Packet.ethIPv6 : Packet.ethIPv4
        return Packet.ethernet(dst: lb.routerMAC, src: lb.lbMAC, type: type, payload: ipPacket)
    }

    func testEchoRequestToAVIPIsAnswered() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        let rest: [UInt8] = [0x12, 0x34, 0, 1], body = Array("ping".utf8)
        let request = Packet.ipv4(src: client4, dst: vip4, proto: Packet.icmp,
                                  payload: Packet.icmpv4(type: 8, code: 0, rest: rest, body: body), ttl: 50, id: 99)
        let expected = Packet.ipv4(src: vip4, dst: client4, proto: Packet.icmp,
                                   payload: Packet.icmpv4(type: 0, code: 0, rest: rest, body: body), ttl: 64, id: 99)
        let before = try lb.counters()
        try assertRun(frame(request), action: XDP_TX_, output: reply(expected))
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_ICMP_ECHO: 1, LB_STAT_XDP_TX: 1])
    }

    /// The reply's checksum is what summing the whole reply gives (PacketCraft's RFC 1071
    /// sum), where an in-place update cannot tell +0 from -0: all-zero replies need 0xffff,
    /// replies whose data sums to 0xffff need 0x0000.
    func testEchoReplyChecksumsMatchAFullComputation() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        let cases: [(rest: [UInt8], body: [UInt8], checksum: UInt16)] = [
            ([0, 0, 0, 0], [], 0xffff),                                  // id 0, sequence 0, no data
            ([0, 0, 0, 0], [UInt8](repeating: 0, count: 56), 0xffff),    // zero data: one step of the sum and a part
            ([0, 0, 0, 0], [UInt8](repeating: 0, count: 1401), 0xffff),  // many steps, an odd last byte
            ([0xff, 0xff, 0, 0], [], 0x0000),                            // sums to 0xffff: -0, not +0
            ([0, 0, 0, 0], [0x00, 0xff, 0xff], 0x0000),                  // the same with an odd length
            ([0x12, 0x34, 0, 1], Array("ping".utf8), 0x0efa),
        ]
        for (rest, body, checksum) in cases {
            let request = Packet.ipv4(src: client4, dst: vip4, proto: Packet.icmp,
                                      payload: Packet.icmpv4(type: 8, code: 0, rest: rest, body: body))
            let message = Packet.icmpv4(type: 0, code: 0, rest: rest, body: body)
            XCTAssertEqual(Packet.be16(checksum), Array(message[2..<4]), "the oracle's own sum")
            let expected = Packet.ipv4(src: vip4, dst: client4, proto: Packet.icmp, payload: message, ttl: 64)
            try assertRun(frame(request), action: XDP_TX_, output: reply(expected))
        }
    }

    func testEchoRequestToAnIPv6VIPIsAnswered() throws {
        try lb.addVIP(vip6, port: 443, proto: Packet.tcp, index: 1, ring: [c6])
        let rest: [UInt8] = [0, 7, 0, 3], body = [UInt8](repeating: 0xab, count: 24)
        let request = Packet.ipv6(src: client6, dst: vip6, nextHeader: Packet.icmpv6,
                                  payload: Packet.icmpv6(src: client6, dst: vip6, type: 128, code: 0, rest: rest, body: body), hopLimit: 33)
        let expected = Packet.ipv6(src: vip6, dst: client6, nextHeader: Packet.icmpv6,
                                   payload: Packet.icmpv6(src: vip6, dst: client6, type: 129, code: 0, rest: rest, body: body), hopLimit: 64)
        try assertRun(frame(request), action: XDP_TX_, output: reply(expected))
    }

    func testEchoToAnotherAddressPasses() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        let request = Packet.ipv4(src: client4, dst: Packet.ipv4("10.0.0.99"), proto: Packet.icmp,
                                  payload: Packet.icmpv4(type: 8, code: 0, rest: [0, 1, 0, 1], body: []))
        try assertRun(frame(request), action: XDP_PASS_)
    }

    func testFragmentationNeededIsRoutedToTheFlowsBackend() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [b])
        try lb.run(frame(tcp4(flags: Packet.TCPFlag.syn)))
        try lb.replaceRing(vip4, port: 80, proto: Packet.tcp, ring: [a]) // the flow stays on b
        // A reply of the backend (VIP:80 -> client:40000) hit a smaller MTU on the way.
        let sent = Packet.ipv4(src: vip4, dst: client4, proto: Packet.tcp,
                               payload: Packet.tcp(src: vip4, dst: client4, sport: 80, dport: 40000, flags: Packet.TCPFlag.ack, payload: [UInt8](repeating: 1, count: 1400)))
        let error = Packet.ipv4(src: router, dst: vip4, proto: Packet.icmp,
                                payload: Packet.icmpv4(type: 3, code: 4, rest: [0, 0, 0x05, 0x78], body: Array(sent[0..<28])), flagsAndOffset: 0)
        let before = try lb.counters()
        try assertRun(frame(error), action: XDP_TX_, output: ipip(error, client: client4, sport: 40000, backend: backendB))
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_CONN_HIT: 1, LB_STAT_ICMP_FORWARDED: 1, LB_STAT_XDP_TX: 1])
        XCTAssertEqual(try lb.connectionBackends(lb.flowKey(src: client4, dst: vip4, sport: 40000, dport: 80, proto: Packet.tcp)), [b])
    }

    func testPacketTooBigIsRoutedToTheFlowsBackend() throws {
        try lb.addVIP(vip6, port: 443, proto: Packet.tcp, index: 1, ring: [d6])
        let sent = Packet.ipv6(src: vip6, dst: client6, nextHeader: Packet.tcp,
                               payload: Packet.tcp(src: vip6, dst: client6, sport: 443, dport: 40000, flags: Packet.TCPFlag.ack))
        let error = Packet.ipv6(src: router6, dst: vip6, nextHeader: Packet.icmpv6,
                                payload: Packet.icmpv6(src: router6, dst: vip6, type: 2, code: 0, rest: Packet.be32(1280), body: sent))
        let before = try lb.counters()
        try assertRun(frame(error), action: XDP_TX_, output: ip6ip6(error, client: client6, sport: 40000, backend: backendD6))
        // Not in the connection table: the ring decides, and nothing is remembered.
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_CONN_MISS_TCP: 1, LB_STAT_ICMP_FORWARDED: 1, LB_STAT_XDP_TX: 1])
        XCTAssertEqual(try lb.connectionBackends(lb.flowKey(src: client6, dst: vip6, sport: 40000, dport: 443, proto: Packet.tcp)), [])
    }

    func testICMPErrorAboutAnotherFlowPasses() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        let sent = Packet.ipv4(src: vip4, dst: client4, proto: Packet.udp, payload: Packet.udp(src: vip4, dst: client4, sport: 5000, dport: 6000))
        let error = Packet.ipv4(src: router, dst: vip4, proto: Packet.icmp,
                                payload: Packet.icmpv4(type: 3, code: 4, rest: [0, 0, 0x05, 0x78], body: Array(sent[0..<28])))
        let before = try lb.counters()
        try assertRun(frame(error), action: XDP_PASS_)
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_ICMP_UNMATCHED: 1, LB_STAT_XDP_PASS: 1])
    }

    /// The largest IPv4 packet that fits is forwarded; one byte more gets "fragmentation needed"
    /// quoting as much of it as keeps the error within 576 bytes (RFC 1812 4.3.2.3).
    func testOversizedIPv4PacketGetsFragmentationNeeded() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.run(frame(tcp4(flags: Packet.TCPFlag.syn)))
        let fits = tcp4(flags: Packet.TCPFlag.ack, payload: [UInt8](repeating: 7, count: 1440))
        XCTAssertEqual(fits.count, 1480)
        try assertRun(frame(fits), action: XDP_TX_, output: ipip(fits, client: client4, sport: 40000, backend: backendA))
        let big = tcp4(flags: Packet.TCPFlag.ack, payload: [UInt8](repeating: 7, count: 1441))
        let expected = Packet.ipv4(src: vip4, dst: client4, proto: Packet.icmp,
                                   payload: Packet.icmpv4(type: 3, code: 4, rest: [0, 0] + Packet.be16(1480), body: Array(big[0..<548])),
                                   ttl: 64, id: 0, flagsAndOffset: 0)
        XCTAssertEqual(expected.count, 576)
        let before = try lb.counters()
        try assertRun(frame(big), action: XDP_TX_, output: reply(expected))
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_CONN_HIT: 1, LB_STAT_TOO_BIG_SENT: 1, LB_STAT_XDP_TX: 1])
    }

    /// Packet too big quotes as much of the packet as fits in the minimum IPv6 MTU (RFC 4443 2.4(c)).
    func testOversizedIPv6PacketGetsPacketTooBig() throws {
        try lb.addVIP(vip6, port: 443, proto: Packet.tcp, index: 1, ring: [c6])
        let big = tcp6(flags: Packet.TCPFlag.ack, payload: (0..<1401).map { UInt8(truncatingIfNeeded: $0) })
        XCTAssertEqual(big.count, 1461)
        let expected = Packet.ipv6(src: vip6, dst: client6, nextHeader: Packet.icmpv6,
                                   payload: Packet.icmpv6(src: vip6, dst: client6, type: 2, code: 0, rest: Packet.be32(1460), body: Array(big[0..<1232])))
        XCTAssertEqual(expected.count, 1280)
        try assertRun(frame(big), action: XDP_TX_, output: reply(expected))
    }

    /// Below the quote limits (a small configured MTU) the whole packet is quoted, odd lengths included.
    func testAPacketShorterThanTheQuoteLimitIsQuotedWhole() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.addVIP(vip6, port: 443, proto: Packet.tcp, index: 1, ring: [c6])
        try lb.setConfig(mtu: 540, udpIdleTimeout: 30)
        let big4 = tcp4(flags: Packet.TCPFlag.syn, payload: (0..<501).map { UInt8(truncatingIfNeeded: $0 * 7) })
        XCTAssertEqual(big4.count, 541)
        let expected4 = Packet.ipv4(src: vip4, dst: client4, proto: Packet.icmp,
                                    payload: Packet.icmpv4(type: 3, code: 4, rest: [0, 0] + Packet.be16(520), body: big4),
                                    ttl: 64, id: 0, flagsAndOffset: 0)
        try assertRun(frame(big4), action: XDP_TX_, output: reply(expected4))
        try lb.setConfig(mtu: 1200, udpIdleTimeout: 30)
        let big6 = tcp6(flags: Packet.TCPFlag.syn, payload: (0..<1121).map { UInt8(truncatingIfNeeded: $0 * 3) })
        XCTAssertEqual(big6.count, 1181)
        let expected6 = Packet.ipv6(src: vip6, dst: client6, nextHeader: Packet.icmpv6,
                                    payload: Packet.icmpv6(src: vip6, dst: client6, type: 2, code: 0, rest: Packet.be32(1160), body: big6))
        try assertRun(frame(big6), action: XDP_TX_, output: reply(expected6))
    }

    /// XDP cannot fragment: a packet without DF gets the error as well, not a silent drop.
    func testOversizedPacketWithoutDFGetsFragmentationNeededToo() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        let segment = Packet.tcp(src: client4, dst: vip4, sport: 40000, dport: 80, flags: Packet.TCPFlag.ack,
                                 payload: [UInt8](repeating: 5, count: 1441))
        let big = Packet.ipv4(src: client4, dst: vip4, proto: Packet.tcp, payload: segment, flagsAndOffset: 0)
        let expected = Packet.ipv4(src: vip4, dst: client4, proto: Packet.icmp,
                                   payload: Packet.icmpv4(type: 3, code: 4, rest: [0, 0] + Packet.be16(1480), body: Array(big[0..<548])),
                                   ttl: 64, id: 0, flagsAndOffset: 0)
        let before = try lb.counters()
        try assertRun(frame(big), action: XDP_TX_, output: reply(expected))
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_CONN_MISS_TCP: 1, LB_STAT_NEW_FLOW: 1,
                                                            LB_STAT_TOO_BIG_SENT: 1, LB_STAT_XDP_TX: 1])
    }

    /// `mtu: 0` turns the check off: a packet of any size is encapsulated and sent.
    func testMTUZeroForwardsOversizedPackets() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.addVIP(vip6, port: 443, proto: Packet.tcp, index: 1, ring: [c6])
        try lb.setConfig(mtu: 0, udpIdleTimeout: 30)
        let big4 = tcp4(flags: Packet.TCPFlag.syn, payload: [UInt8](repeating: 7, count: 1900))
        try assertRun(frame(big4), action: XDP_TX_, output: ipip(big4, client: client4, sport: 40000, backend: backendA))
        let big6 = tcp6(flags: Packet.TCPFlag.syn, payload: [UInt8](repeating: 9, count: 1900))
        try assertRun(frame(big6), action: XDP_TX_, output: ip6ip6(big6, client: client6, sport: 40000, backend: backendC6))
    }

    func testFourInSixUsesTheIPv6Overhead() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [c6])
        let big = tcp4(flags: Packet.TCPFlag.ack, payload: [UInt8](repeating: 7, count: 1421))
        let expected = Packet.ipv4(src: vip4, dst: client4, proto: Packet.icmp,
                                   payload: Packet.icmpv4(type: 3, code: 4, rest: [0, 0] + Packet.be16(1460), body: Array(big[0..<548])),
                                   ttl: 64, id: 0, flagsAndOffset: 0)
        try assertRun(frame(big), action: XDP_TX_, output: reply(expected))
    }
}
