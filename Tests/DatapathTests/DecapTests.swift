import CLBABI
import Datapath
import PacketCraft
import TestSupport
import XCTest

/// The backend-side program: tunnelled packets to this host lose their outer header.
final class DecapTests: XCTestCase {
    var decap: DecapDatapath!
    var pinDirectory = ""
    let host4 = Packet.ipv4("192.0.2.11"), host6 = Packet.ipv6("2001:db8::c3")
    let lbSource4 = Packet.ipv4("172.16.3.4"), lbSource6 = Packet.ipv6("fd00:1b::1")
    let client4 = Packet.ipv4("198.51.100.7"), vip4 = Packet.ipv4("10.0.0.10")
    let client6 = Packet.ipv6("2001:db8:c::7"), vip6 = Packet.ipv6("2001:db8:f::10")
    let hostMAC = Packet.mac("02:00:00:00:0b:01"), routerMAC = Packet.mac("02:00:00:00:00:fe")

    override func setUpWithError() throws {
        try requireRoot()
        pinDirectory = uniquePinDirectory("decap")
        decap = try DecapDatapath.open(pinDirectory: pinDirectory)
        for address in [host4, host6] {
            var key = lb_vip_addr_key()
            key.addr = ABIAddress.words(address)
            key.family = ABIAddress.family(address)
            try decap.decapAddrs.update(key: key, value: UInt32(1))
        }
    }

    override func tearDown() {
        decap = nil
        _ = try? DecapDatapath.removePins(pinDirectory: pinDirectory)
    }

    private func frame(_ packet: [UInt8], vlan: UInt16? = nil) -> [UInt8] {
        Packet.ethernet(dst: hostMAC, src: routerMAC, type: packet[0] >> 4 == 6 ? Packet.ethIPv6 : Packet.ethIPv4, vlan: vlan, payload: packet)
    }

    private var inner4: [UInt8] {
        Packet.ipv4(src: client4, dst: vip4, proto: Packet.tcp,
                    payload: Packet.tcp(src: client4, dst: vip4, sport: 40000, dport: 80, flags: Packet.TCPFlag.syn))
    }

    private var inner6: [UInt8] {
        Packet.ipv6(src: client6, dst: vip6, nextHeader: Packet.udp,
                    payload: Packet.udp(src: client6, dst: vip6, sport: 5353, dport: 53, payload: [1, 2]))
    }

    private func assertDecap(_ input: [UInt8], action: UInt32, output: [UInt8], counting stat: lb_decap_stat,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try decap.counters()
        let result = try decap.testRun(frame: input)
        XCTAssertEqual(result.action, action, file: file, line: line)
        XCTAssertEqual(result.output, output, file: file, line: line)
        let after = try decap.counters()
        for i in 0..<Int(LB_DECAP_STAT_COUNT.rawValue) {
            let expected: UInt64 = i == Int(LB_DECAP_STAT_RX.rawValue) || i == Int(stat.rawValue) ? 1 : 0
            XCTAssertEqual(after[i] - before[i], expected, "decap counter \(i)", file: file, line: line)
        }
    }

    func testIPIPToThisHostIsStripped() throws {
        let outer = Packet.ipv4(src: lbSource4, dst: host4, proto: Packet.ipip, payload: inner4, flagsAndOffset: 0)
        try assertDecap(frame(outer), action: XDP_PASS_, output: frame(inner4), counting: LB_DECAP_STAT_IPIP)
    }

    func testIP6IP6ToThisHostIsStripped() throws {
        let outer = Packet.ipv6(src: lbSource6, dst: host6, nextHeader: Packet.ipv6InIP, payload: inner6, flowLabel: 0x12345)
        try assertDecap(frame(outer), action: XDP_PASS_, output: frame(inner6), counting: LB_DECAP_STAT_IP6IP6)
    }

    func testFourInSixIsStrippedToIPv4() throws {
        let outer = Packet.ipv6(src: lbSource6, dst: host6, nextHeader: Packet.ipip, payload: inner4)
        try assertDecap(frame(outer), action: XDP_PASS_, output: frame(inner4), counting: LB_DECAP_STAT_IP4IN6)
    }

    /// RFC 6040: congestion marked on the outer header (CE) reaches the inner one, whose
    /// DSCP stays; the IPv4 checksum follows.
    func testOuterCongestionMarkIsCopiedInward() throws {
        let ce: UInt8 = 0x03
        let inner = { (tos: UInt8) in
            Packet.ipv4(src: self.client4, dst: self.vip4, proto: Packet.tcp, payload: Packet.tcp(
                src: self.client4, dst: self.vip4, sport: 40000, dport: 80, flags: Packet.TCPFlag.ack), tos: tos)
        }
        let ipip = Packet.ipv4(src: lbSource4, dst: host4, proto: Packet.ipip, payload: inner(0x2a), tos: 0x28 | ce, flagsAndOffset: 0)
        try assertDecap(frame(ipip), action: XDP_PASS_, output: frame(inner(0x2a | ce)), counting: LB_DECAP_STAT_IPIP)
        let fourInSix = Packet.ipv6(src: lbSource6, dst: host6, nextHeader: Packet.ipip, payload: inner(0x01), trafficClass: ce)
        try assertDecap(frame(fourInSix), action: XDP_PASS_, output: frame(inner(ce)), counting: LB_DECAP_STAT_IP4IN6)
        let inner6 = { (trafficClass: UInt8) in
            Packet.ipv6(src: self.client6, dst: self.vip6, nextHeader: Packet.udp, payload: Packet.udp(
                src: self.client6, dst: self.vip6, sport: 5353, dport: 53, payload: [1, 2]), trafficClass: trafficClass)
        }
        let ip6ip6 = Packet.ipv6(src: lbSource6, dst: host6, nextHeader: Packet.ipv6InIP, payload: inner6(0xb9), trafficClass: 0xb8 | ce)
        try assertDecap(frame(ip6ip6), action: XDP_PASS_, output: frame(inner6(0xb9 | ce)), counting: LB_DECAP_STAT_IP6IP6)
    }

    /// Without a congestion mark on the outer header, the inner ECN field is what the client sent.
    func testInnerECNIsKeptWithoutOuterMark() throws {
        let inner = Packet.ipv4(src: client4, dst: vip4, proto: Packet.udp,
                                payload: Packet.udp(src: client4, dst: vip4, sport: 5353, dport: 53, payload: [1]), tos: 0x02)
        let outer = Packet.ipv4(src: lbSource4, dst: host4, proto: Packet.ipip, payload: inner, tos: 0x01, flagsAndOffset: 0)
        try assertDecap(frame(outer), action: XDP_PASS_, output: frame(inner), counting: LB_DECAP_STAT_IPIP)
    }

    /// RFC 6040: a CE mark over an inner packet that is not ECN-capable cannot be passed
    /// on, and the packet must not look uncongested: it is dropped and counted.
    func testCongestionMarkOverNotECTIsDropped() throws {
        let outer = frame(Packet.ipv4(src: lbSource4, dst: host4, proto: Packet.ipip, payload: inner4, tos: 0x03, flagsAndOffset: 0))
        try assertDecap(outer, action: XDP_DROP_, output: outer, counting: LB_DECAP_STAT_CE_NOT_ECT)
    }

    func testVLANTagIsKept() throws {
        let outer = Packet.ipv4(src: lbSource4, dst: host4, proto: Packet.ipip, payload: inner4, flagsAndOffset: 0)
        try assertDecap(frame(outer, vlan: 300), action: XDP_PASS_, output: frame(inner4, vlan: 300), counting: LB_DECAP_STAT_IPIP)
    }

    func testTunnelsToOtherAddressesAndPlainTrafficPassUntouched() throws {
        let elsewhere = frame(Packet.ipv4(src: lbSource4, dst: Packet.ipv4("192.0.2.99"), proto: Packet.ipip, payload: inner4))
        try assertDecap(elsewhere, action: XDP_PASS_, output: elsewhere, counting: LB_DECAP_STAT_PASS)
        let plain = frame(inner4)
        try assertDecap(plain, action: XDP_PASS_, output: plain, counting: LB_DECAP_STAT_PASS)
    }

    func testTruncatedInnerHeaderIsDropped() throws {
        let outer = frame(Packet.ipv4(src: lbSource4, dst: host4, proto: Packet.ipip, payload: Array(inner4[0..<12])))
        try assertDecap(outer, action: XDP_DROP_, output: outer, counting: LB_DECAP_STAT_PARSE_ERROR)
        let outer6 = frame(Packet.ipv6(src: lbSource6, dst: host6, nextHeader: Packet.ipv6InIP, payload: Array(inner6[0..<39])))
        try assertDecap(outer6, action: XDP_DROP_, output: outer6, counting: LB_DECAP_STAT_PARSE_ERROR)
    }
}
