import CLBABI
import Datapath
import Foundation
import PacketCraft
import TestSupport
import XCTest

/// Addresses and frame builders shared by the balancer test cases.
class BalancerTestCase: XCTestCase {
    var lb: BalancerFixture!

    let client4 = Packet.ipv4("198.51.100.7")
    let client6 = Packet.ipv6("2001:db8:c::7")
    let vip4 = Packet.ipv4("10.0.0.10")
    let vip6 = Packet.ipv6("2001:db8:f::10")
    let backendA = Packet.ipv4("192.0.2.11")
    let backendB = Packet.ipv4("192.0.2.12")
    let backendC6 = Packet.ipv6("2001:db8::c3")
    let backendD6 = Packet.ipv6("2001:db8::d4")
    let a: UInt32 = 1, b: UInt32 = 2, c6: UInt32 = 3, d6: UInt32 = 4

    override func setUpWithError() throws {
        try requireRoot()
        lb = try BalancerFixture()
        try lb.setBackend(a, backendA)
        try lb.setBackend(b, backendB)
        try lb.setBackend(c6, backendC6)
        try lb.setBackend(d6, backendD6)
    }

    override func tearDown() { lb = nil }

    // MARK: Frames in

    func frame(_ ipPacket: [UInt8], vlan: UInt16? = nil) -> [UInt8] {
        let type = ipPacket.first.map { $0 >> 4 == 6 } == true ? Packet.ethIPv6 : Packet.ethIPv4
        return Packet.ethernet(dst: lb.lbMAC, src: lb.routerMAC, type: type, vlan: vlan, payload: ipPacket)
    }

    func tcp4(from client: [UInt8]? = nil, sport: UInt16 = 40000, to vip: [UInt8]? = nil, dport: UInt16 = 80,
              flags: UInt8, payload: [UInt8] = [], tos: UInt8 = 0) -> [UInt8] {
        let src = client ?? client4, dst = vip ?? vip4
        let segment = Packet.tcp(src: src, dst: dst, sport: sport, dport: dport, flags: flags, payload: payload)
        return Packet.ipv4(src: src, dst: dst, proto: Packet.tcp, payload: segment, tos: tos)
    }

    func udp4(sport: UInt16 = 5353, dport: UInt16 = 53, payload: [UInt8] = [1, 2, 3, 4]) -> [UInt8] {
        let segment = Packet.udp(src: client4, dst: vip4, sport: sport, dport: dport, payload: payload)
        return Packet.ipv4(src: client4, dst: vip4, proto: Packet.udp, payload: segment)
    }

    func tcp6(sport: UInt16 = 40000, dport: UInt16 = 443, flags: UInt8, payload: [UInt8] = [], trafficClass: UInt8 = 0) -> [UInt8] {
        let segment = Packet.tcp(src: client6, dst: vip6, sport: sport, dport: dport, flags: flags, payload: payload)
        return Packet.ipv6(src: client6, dst: vip6, nextHeader: Packet.tcp, payload: segment, trafficClass: trafficClass)
    }

    func udp6(sport: UInt16 = 5353, dport: UInt16 = 53, payload: [UInt8] = [9, 8, 7]) -> [UInt8] {
        let segment = Packet.udp(src: client6, dst: vip6, sport: sport, dport: dport, payload: payload)
        return Packet.ipv6(src: client6, dst: vip6, nextHeader: Packet.udp, payload: segment)
    }

    // MARK: Frames out

    /// The inner packet unchanged behind an outer IPv4 header to `backend`.
    func ipip(_ inner: [UInt8], client: [UInt8], sport: UInt16, backend: [UInt8], tos: UInt8 = 0, vlan: UInt16? = nil,
              ttl: UInt8 = 64) -> [UInt8] {
        let source = FlowHash.outerSourceV4(prefix: lb.encapPrefixV4, mask: lb.encapMaskV4,
                                            client: FlowHash.client(src: client, sport: sport))
        let outer = Packet.ipv4Header(src: source, dst: backend, proto: Packet.ipip, payloadLength: inner.count,
                                      tos: tos, ttl: ttl, id: 0, flagsAndOffset: 0)
        return Packet.ethernet(dst: lb.gatewayMAC, src: lb.lbMAC, type: Packet.ethIPv4, vlan: vlan, payload: outer + inner)
    }

    /// The inner packet (IPv6, or IPv4 for 4-in-6) behind an outer IPv6 header to `backend`.
    func ip6ip6(_ inner: [UInt8], client: [UInt8], sport: UInt16, backend: [UInt8], trafficClass: UInt8 = 0) -> [UInt8] {
        let hash = FlowHash.client(src: client, sport: sport)
        let source = FlowHash.outerSourceV6(prefix: lb.encapPrefixV6, mask: lb.encapMaskV6, client: hash)
        let next = inner[0] >> 4 == 4 ? Packet.ipip : Packet.ipv6InIP
        let outer = Packet.ipv6(src: source, dst: backend, nextHeader: next, payload: inner,
                                trafficClass: trafficClass, flowLabel: hash, hopLimit: 64)
        return Packet.ethernet(dst: lb.gatewayMAC, src: lb.lbMAC, type: Packet.ethIPv6, payload: outer)
    }

    // MARK: Assertions

    @discardableResult
    func assertRun(_ input: [UInt8], action: UInt32, output expected: [UInt8]? = nil,
                   file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
        let result = try lb.run(input)
        XCTAssertEqual(result.action, action, "XDP action", file: file, line: line)
        let want = expected ?? input
        if result.output != want {
            XCTFail("output differs:\n got  \(hex(result.output))\n want \(hex(want))", file: file, line: line)
        }
        return result.output
    }

    /// Runs `packet` (from `client`, default client4; source port `sport`, default tcp4's)
    /// and checks it went, encapsulated in IPv4, to `backend`. With `counting`: the run
    /// moved those global counters, RX and XDP_TX, and no other.
    func assertSent(_ packet: [UInt8], from client: [UInt8]? = nil, sport: UInt16 = 40000, to backend: [UInt8],
                    counting expected: [lb_stat: UInt64]? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try lb.counters()
        let encapsulated = ipip(packet, client: client ?? client4, sport: sport, backend: backend)
        try assertRun(frame(packet), action: XDP_TX_, output: encapsulated, file: file, line: line)
        if let expected {
            CounterDelta(before, try lb.counters()).assertOnly(expected.merging([LB_STAT_RX: 1, LB_STAT_XDP_TX: 1]) { $1 },
                                                               file: file, line: line)
        }
    }

    // MARK: Flow entries

    /// Moves the last packet of client4's flow to vip4 with these ports `seconds` into the
    /// past, as if the flow had been idle since.
    func age(sport: UInt16 = 40000, dport: UInt16 = 80, proto: UInt8 = Packet.tcp, by seconds: UInt64) throws {
        let key = lb.flowKey(src: client4, dst: vip4, sport: sport, dport: dport, proto: proto)
        var entry = try XCTUnwrap(try lb.datapath.connTable.lookup(key: key))
        entry.last_seen_ns = BalancerDatapath.coarseMonotonicNanoseconds() - seconds * 1_000_000_000
        try lb.datapath.writeFlow(key, entry)
    }

    /// `count` client4 ports other than `sport` whose TCP flows to vip4:80 share the
    /// connection table bucket of `sport`'s.
    func sameBucketPorts(as sport: UInt16, count: Int) -> [UInt16] {
        let bucket = { (port: UInt16) in
            self.lb.datapath.connTable.bucketIndex(of: self.lb.flowKey(src: self.client4, dst: self.vip4, sport: port,
                                                                        dport: 80, proto: Packet.tcp))
        }
        let target = bucket(sport)
        return Array((UInt16(1024)...UInt16.max).lazy.filter { $0 != sport && bucket($0) == target }.prefix(count))
    }

    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}

let XDP_ABORTED_: UInt32 = 0, XDP_DROP_: UInt32 = 1, XDP_PASS_: UInt32 = 2, XDP_TX_: UInt32 = 3

