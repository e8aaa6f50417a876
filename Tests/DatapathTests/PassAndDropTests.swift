import CLBABI
import PacketCraft
import XCTest

/// Traffic the balancer does not own goes to the kernel untouched; what it refuses is counted.
final class PassAndDropTests: BalancerTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.addVIP(vip6, port: 443, proto: Packet.tcp, index: 1, ring: [c6])
    }

    private func assertPassedUntouched(_ input: [UInt8], counting stats: [lb_stat: UInt64] = [:],
                                       file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try lb.counters()
        try assertRun(input, action: XDP_PASS_, file: file, line: line)
        var expected = stats
        expected[LB_STAT_RX, default: 0] += 1
        expected[LB_STAT_XDP_PASS, default: 0] += 1
        CounterDelta(before, try lb.counters()).assertOnly(expected, file: file, line: line)
    }

    private func assertDropped(_ input: [UInt8], counting stat: lb_stat, file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try lb.counters()
        try assertRun(input, action: XDP_DROP_, file: file, line: line)
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, stat: 1, LB_STAT_XDP_DROP: 1], file: file, line: line)
    }

    func testTrafficToOtherAddressesPortsAndProtocolsPasses() throws {
        try assertPassedUntouched(frame(tcp4(to: Packet.ipv4("10.0.0.99"), flags: Packet.TCPFlag.syn)))
        try assertPassedUntouched(frame(tcp4(dport: 81, flags: Packet.TCPFlag.syn)))
        try assertPassedUntouched(frame(udp4(dport: 80)))
        let gre = Packet.ipv4(src: client4, dst: vip4, proto: 47, payload: [0, 0, 8, 0])
        try assertPassedUntouched(frame(gre))
        try assertPassedUntouched(frame(tcp6(dport: 80, flags: Packet.TCPFlag.syn)))
    }

    func testARPAndNeighbourDiscoveryPass() throws {
        let arp = Packet.ethernet(dst: Packet.mac("ff:ff:ff:ff:ff:ff"), src: lb.routerMAC, type: Packet.ethARP,
                                  payload: Packet.arpRequest(senderMAC: lb.routerMAC, senderIP: client4, targetIP: vip4))
        try assertPassedUntouched(arp)
        let solicitedNode = Packet.ipv6("ff02::1:ff00:10")
        let ns = Packet.icmpv6(src: client6, dst: solicitedNode, type: 135, code: 0, rest: [0, 0, 0, 0], body: vip6)
        try assertPassedUntouched(frame(Packet.ipv6(src: client6, dst: solicitedNode, nextHeader: Packet.icmpv6, payload: ns, hopLimit: 255)))
        let na = Packet.icmpv6(src: client6, dst: vip6, type: 136, code: 0, rest: [0x60, 0, 0, 0], body: client6)
        try assertPassedUntouched(frame(Packet.ipv6(src: client6, dst: vip6, nextHeader: Packet.icmpv6, payload: na, hopLimit: 255)))
    }

    func testFragmentsToAVIPAreDroppedAndCountedOthersPass() throws {
        let segment = Packet.tcp(src: client4, dst: vip4, sport: 40000, dport: 80, flags: Packet.TCPFlag.ack, payload: [1, 2, 3, 4])
        let firstFragment = Packet.ipv4(src: client4, dst: vip4, proto: Packet.tcp, payload: segment, id: 7, flagsAndOffset: 0x2000)
        try assertDropped(frame(firstFragment), counting: LB_STAT_FRAGMENT)
        let laterFragment = Packet.ipv4(src: client4, dst: vip4, proto: Packet.tcp, payload: [5, 6, 7, 8], id: 7, flagsAndOffset: 0x0003)
        try assertDropped(frame(laterFragment), counting: LB_STAT_FRAGMENT)
        let elsewhere = Packet.ipv4(src: client4, dst: Packet.ipv4("10.0.0.99"), proto: Packet.tcp, payload: segment, id: 7, flagsAndOffset: 0x2000)
        try assertPassedUntouched(frame(elsewhere))
        let fragmentHeader: [UInt8] = [Packet.tcp, 0, 0, 1, 0, 0, 0, 9]
        let v6Fragment = Packet.ipv6(src: client6, dst: vip6, nextHeader: 44, payload: fragmentHeader + [0, 0, 0, 0])
        try assertDropped(frame(v6Fragment), counting: LB_STAT_FRAGMENT)
    }

    func testIPv4OptionsAndIPv6ExtensionHeadersToAVIPAreDroppedAndCounted() throws {
        let segment = Packet.tcp(src: client4, dst: vip4, sport: 40000, dport: 80, flags: Packet.TCPFlag.syn)
        let withOptions = Packet.ipv4(src: client4, dst: vip4, proto: Packet.tcp, payload: segment, options: [0x94, 0x04, 0, 0])
        try assertDropped(frame(withOptions), counting: LB_STAT_IP_OPTIONS)
        let hopByHop: [UInt8] = [Packet.tcp, 0, 1, 4, 0, 0, 0, 0]
        let seg6 = Packet.tcp(src: client6, dst: vip6, sport: 40000, dport: 443, flags: Packet.TCPFlag.syn)
        try assertDropped(frame(Packet.ipv6(src: client6, dst: vip6, nextHeader: 0, payload: hopByHop + seg6)), counting: LB_STAT_IP_OPTIONS)
        let toHost = Packet.ipv4(src: client4, dst: Packet.ipv4("10.0.0.99"), proto: Packet.tcp, payload: segment, options: [0x94, 0x04, 0, 0])
        try assertPassedUntouched(frame(toHost))
    }

    /// Every prefix (from a bare Ethernet header on) of a valid VIP frame, in every family and with a tag: never transmitted.
    func testTruncatedHeadersAtEveryLayerPassAndCount() throws {
        let packets = [tcp4(flags: Packet.TCPFlag.syn), udp4(), tcp6(flags: Packet.TCPFlag.syn)]
        for packet in packets {
            for vlan in [nil, UInt16(7)] as [UInt16?] {
                let full = frame(packet, vlan: vlan)
                for length in 14..<full.count {
                    let before = try lb.counters()
                    let cut = Array(full[0..<length])
                    try assertRun(cut, action: XDP_PASS_)
                    let delta = CounterDelta(before, try lb.counters())
                    XCTAssertEqual(delta[LB_STAT_PARSE_ERROR], 1, "length \(length) of \(hex(full))")
                    XCTAssertEqual(delta[LB_STAT_XDP_TX], 0)
                }
            }
        }
    }

    func testLengthFieldsThatLieArePassedAndCounted() throws {
        var longer = frame(tcp4(flags: Packet.TCPFlag.syn))
        longer[17] = longer[17] &+ 8 // IPv4 total length beyond the frame
        try assertPassedUntouched(longer, counting: [LB_STAT_PARSE_ERROR: 1])
        var shortIHL = frame(tcp4(flags: Packet.TCPFlag.syn))
        shortIHL[14] = 0x44
        try assertPassedUntouched(shortIHL, counting: [LB_STAT_PARSE_ERROR: 1])
        var v6Longer = frame(tcp6(flags: Packet.TCPFlag.syn))
        v6Longer[19] = v6Longer[19] &+ 1 // payload length beyond the frame
        try assertPassedUntouched(v6Longer, counting: [LB_STAT_PARSE_ERROR: 1])
        var badOffset = frame(tcp4(flags: Packet.TCPFlag.syn))
        badOffset[46] = 0x40 // TCP data offset 4 (< 5 words)
        try assertPassedUntouched(badOffset, counting: [LB_STAT_PARSE_ERROR: 1])
    }

    /// The L4 header must lie inside the IP packet as its header counts it; bytes after
    /// that are the frame's padding, not a header (the kernel would drop such a packet).
    func testL4HeadersPastTheIPLengthArePassedAndCounted() throws {
        let syn = Packet.tcp(src: client4, dst: vip4, sport: 40000, dport: 80, flags: Packet.TCPFlag.syn)
        for totalLength in [20, 21, 39] {
            let header = Packet.ipv4Header(src: client4, dst: vip4, proto: Packet.tcp, payloadLength: 0, totalLength: totalLength)
            try assertPassedUntouched(frame(header + syn), counting: [LB_STAT_PARSE_ERROR: 1])
        }
        // data offset 6: 24 header bytes, 20 of them inside the IP packet
        var options = Packet.tcp(src: client4, dst: vip4, sport: 40000, dport: 80, flags: Packet.TCPFlag.syn, payload: [2, 4, 5, 0xb4])
        options[12] = 0x60
        let cut = Packet.ipv4Header(src: client4, dst: vip4, proto: Packet.tcp, payloadLength: 0, totalLength: 40)
        try assertPassedUntouched(frame(cut + options), counting: [LB_STAT_PARSE_ERROR: 1])
        let datagram = Packet.udp(src: client4, dst: vip4, sport: 5353, dport: 80)
        try lb.addVIP(vip4, port: 80, proto: Packet.udp, index: 2, ring: [a])
        let udpHeader = Packet.ipv4Header(src: client4, dst: vip4, proto: Packet.udp, payloadLength: 0, totalLength: 27)
        try assertPassedUntouched(frame(udpHeader + datagram), counting: [LB_STAT_PARSE_ERROR: 1])
        let echo = Packet.icmpv4(type: 8, code: 0, rest: [0, 1, 0, 1], body: [])
        let echoHeader = Packet.ipv4Header(src: client4, dst: vip4, proto: Packet.icmp, payloadLength: 0, totalLength: 24)
        try assertPassedUntouched(frame(echoHeader + echo), counting: [LB_STAT_PARSE_ERROR: 1])
        // IPv6: a payload length of 0 (and of 19) with a whole TCP header after it
        let seg6 = Packet.tcp(src: client6, dst: vip6, sport: 40000, dport: 443, flags: Packet.TCPFlag.syn)
        for payloadLength in [0, 19] {
            var short6 = Packet.ipv6(src: client6, dst: vip6, nextHeader: Packet.tcp, payload: seg6)
            short6[4...5] = Packet.be16(UInt16(payloadLength))[...]
            try assertPassedUntouched(frame(short6), counting: [LB_STAT_PARSE_ERROR: 1])
        }
    }

    /// Trailing bytes after a whole packet are Ethernet padding: the packet is still balanced.
    func testPaddingAfterAWholePacketIsNoError() throws {
        let syn = tcp4(flags: Packet.TCPFlag.syn)
        let padded = frame(syn) + [UInt8](repeating: 0, count: 6)
        try assertRun(padded, action: XDP_TX_, output: ipip(syn, client: client4, sport: 40000, backend: backendA) + [UInt8](repeating: 0, count: 6))
    }

    /// One tag is parsed; a second (802.1Q in 802.1Q, or an 802.1ad outer tag) is not ours.
    func testDoubleTaggedFramesPassUntouched() throws {
        let syn = tcp4(flags: Packet.TCPFlag.syn)
        for outer: UInt16 in [0x8100, 0x88a8] {
            let qinq = lb.lbMAC + lb.routerMAC + Packet.be16(outer) + Packet.be16(100) + Packet.be16(Packet.ethVLAN) + Packet.be16(7)
                + Packet.be16(Packet.ethIPv4) + syn
            try assertPassedUntouched(qinq)
        }
    }
}
