import CLBABI
import Datapath
import PacketCraft
import TestSupport
import XCTest

/// Installing and removing a VIP is idempotent: whatever a failed or interrupted call
/// left behind, calling it again leaves `vip_addrs` and the VIP filter as `vip_map` says.
final class VIPInstallTests: BalancerTestCase {
    private var key80: lb_vip_key { lb.vipKey(vip4, port: 80, proto: Packet.tcp) }

    private var echo: [UInt8] {
        frame(Packet.ipv4(src: client4, dst: vip4, proto: Packet.icmp,
                          payload: Packet.icmpv4(type: 8, code: 0, rest: [0, 1, 0, 1], body: [1, 2, 3])))
    }

    private func addressKey(_ address: [UInt8]) -> lb_vip_addr_key {
        var key = lb_vip_addr_key()
        key.addr = ABIAddress.words(address)
        key.family = ABIAddress.family(address)
        return key
    }

    private func filterBytes() throws -> [UInt8] {
        withUnsafeBytes(of: try XCTUnwrap(try lb.datapath.vipFilter.lookup(key: 0))) { Array($0) }
    }

    private func expectedFilter(_ addresses: [[UInt8]]) -> [UInt8] {
        withUnsafeBytes(of: VIPFilter.filter(for: addresses)) { Array($0) }
    }

    /// What a daemon that died right after writing the key of a new VIP leaves.
    private func loseAddressAndFilter() throws {
        XCTAssertTrue(try lb.datapath.vipAddrs.delete(key: addressKey(vip4)))
        try lb.datapath.vipFilter.update(key: 0, value: lb_vip_filter())
    }

    func testARetriedInstallWritesTheAddressAndFilterBit() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        let info = try XCTUnwrap(try lb.datapath.vips.lookup(key: 0))
        try loseAddressAndFilter()
        XCTAssertEqual(try lb.run(frame(tcp4(flags: Packet.TCPFlag.syn))).action, XDP_PASS_, "the broken state")

        try lb.datapath.installVIP(key80, index: 0, info: info)
        XCTAssertEqual(try lb.datapath.vipAddrs.lookup(key: addressKey(vip4)), 1)
        XCTAssertEqual(try filterBytes(), expectedFilter([vip4]))
        XCTAssertEqual(try lb.run(frame(tcp4(flags: Packet.TCPFlag.syn))).action, XDP_TX_)
        XCTAssertEqual(try lb.run(echo).action, XDP_TX_, "echo answered")
    }

    func testARetriedRemovalRemovesTheAddressAndFilterBit() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        // A removal interrupted after its first write: the key is gone, nothing else.
        XCTAssertTrue(try lb.datapath.vipMap.delete(key: key80))
        XCTAssertEqual(try lb.run(echo).action, XDP_TX_, "the broken state: a removed VIP answers echo")

        try lb.datapath.removeVIP(key80)
        XCTAssertEqual(try lb.datapath.vipAddrs.keys().count, 0)
        XCTAssertEqual(try filterBytes(), expectedFilter([]))
        XCTAssertEqual(try lb.run(echo).action, XDP_PASS_, "echo to a former VIP goes to the kernel")
    }

    /// A removal that fails part way (here: `vips` frozen, so its write is refused) never
    /// leaves the key gone while the index keeps the VIP's generation: the flows of a
    /// removed VIP must go stale, or a retry (which finds no key) would leave them served.
    func testAFailedRemovalNeverLeavesTheIndexWithItsGeneration() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.run(frame(tcp4(flags: Packet.TCPFlag.syn)))
        try shell("bpftool", "map", "freeze", "pinned", "\(lb.pinDirectory)/vips")

        XCTAssertThrowsError(try lb.datapath.removeVIP(key80))
        XCTAssertEqual(try lb.datapath.vipMap.lookup(key: key80), 0, "the key stays until its index is retired")
        XCTAssertEqual(try lb.datapath.vips.lookup(key: 0)?.generation, 0)
        XCTAssertEqual(try lb.run(frame(tcp4(flags: Packet.TCPFlag.ack))).action, XDP_TX_, "still served, consistently")
    }

    /// The count of VIPs on an address comes from vip_map, not from increments that may
    /// have been lost: removing one VIP of two keeps the address of the other.
    func testAnAddressStaysWhileAnyVIPHasIt() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.addVIP(vip4, port: 443, proto: Packet.tcp, index: 1, ring: [b])
        XCTAssertEqual(try lb.datapath.vipAddrs.lookup(key: addressKey(vip4)), 2)
        try lb.datapath.vipAddrs.update(key: addressKey(vip4), value: 1)  // an increment lost

        try lb.datapath.removeVIP(key80)
        XCTAssertEqual(try lb.datapath.vipAddrs.lookup(key: addressKey(vip4)), 1)
        XCTAssertEqual(try filterBytes(), expectedFilter([vip4]))
        XCTAssertEqual(try lb.run(frame(tcp4(dport: 443, flags: Packet.TCPFlag.syn))).action, XDP_TX_)
    }
}
