import CLBABI
import Datapath
import Foundation
import PacketCraft
import TestSupport
import XCTest



/// A unique bpffs directory per fixture, so concurrent runs and leftovers never collide.
func uniquePinDirectory(_ purpose: String) -> String {
    uniqueName("/sys/fs/bpf/lbd-test-\(purpose)-")
}

/// A balancer loaded into the kernel with small limits, driven map by map as the
/// reconciler would, and run on frames with BPF_PROG_TEST_RUN.
final class BalancerFixture {
    static let limits = try! DatapathLimits(maxVIPs: 8, maxBackends: 16, ringSize: 13, connectionTable: 4096)

    let lbMAC = Packet.mac("02:00:00:00:00:01")
    let routerMAC = Packet.mac("02:00:00:00:00:02")
    let gatewayMAC = Packet.mac("02:00:00:00:00:fe")
    let encapPrefixV4 = Packet.ipv4("172.16.0.0")
    let encapMaskV4 = Packet.ipv4("255.255.0.0")
    let encapPrefixV6 = Packet.ipv6("fd00:1b::")
    let encapMaskV6 = Packet.ipv6("ffff:ffff:ffff:ffff::")

    let pinDirectory: String
    let datapath: BalancerDatapath
    private var ringPatterns: [UInt32: [UInt32]] = [:]

    /// TCP entries: idle 1 h, closing ones linger 10 s (lbd's defaults).
    static let tcpIdleTimeout: UInt32 = 3600, tcpLinger: UInt32 = 10

    init(mtu: UInt16 = 1500, udpIdleTimeout: UInt32 = 30) throws {
        pinDirectory = uniquePinDirectory("balancer")
        datapath = try BalancerDatapath.open(pinDirectory: pinDirectory, limits: Self.limits)
        try setConfig(mtu: mtu, udpIdleTimeout: udpIdleTimeout)
    }

    deinit { _ = try? BalancerDatapath.removePins(pinDirectory: pinDirectory) }

    func setConfig(mtu: UInt16, udpIdleTimeout: UInt32) throws {
        var cfg = lb_config()
        withUnsafeMutableBytes(of: &cfg.gateway_mac) { $0.copyBytes(from: gatewayMAC) }
        cfg.mtu = mtu
        cfg.encap_src_v4 = ABIAddress.words(encapPrefixV4).0
        cfg.encap_src_v4_mask = ABIAddress.words(encapMaskV4).0
        cfg.encap_src_v6 = ABIAddress.words(encapPrefixV6)
        cfg.encap_src_v6_mask = ABIAddress.words(encapMaskV6)
        cfg.udp_idle_timeout_s = udpIdleTimeout
        cfg.tcp_idle_timeout_s = Self.tcpIdleTimeout
        cfg.tcp_linger_s = Self.tcpLinger
        try datapath.config.update(key: UInt32(0), value: cfg)
    }

    func setBackend(_ index: UInt32, _ address: [UInt8], up: Bool = true) throws {
        var backend = lb_backend()
        backend.addr = ABIAddress.words(address)
        backend.family = ABIAddress.family(address)
        backend.flags = up ? UInt8(LB_BACKEND_F_UP) : 0
        try datapath.backends.update(key: index, value: backend)
    }

    func vipKey(_ address: [UInt8], port: UInt16, proto: UInt8) -> lb_vip_key {
        var key = lb_vip_key()
        key.addr = ABIAddress.words(address)
        key.port = port.bigEndian
        key.proto = proto
        key.family = ABIAddress.family(address)
        return key
    }

    /// A VIP whose live ring repeats `ring` (backend indices) over its slots.
    func addVIP(_ address: [UInt8], port: UInt16, proto: UInt8, index: UInt32, ring: [UInt32],
                flags: UInt32 = 0, udpIdleTimeout: UInt32 = 0, generation: UInt32 = 0,
                quic: (connectionIDLength: UInt8, serverIDLength: UInt8)? = nil) throws {
        try writeRing(vip: index, ring: ring, live: 0)
        var info = lb_vip_info()
        if let quic {
            info.quic_cid_len = quic.connectionIDLength
            info.quic_server_id_len = quic.serverIDLength
        }
        info.flags = flags | (ring.isEmpty ? UInt32(LB_VIP_F_NO_BACKEND) : 0)
        info.ring = 0
        info.udp_idle_timeout_s = udpIdleTimeout
        info.generation = generation
        try datapath.installVIP(vipKey(address, port: port, proto: proto), index: index, info: info)
        ringPatterns[index] = ring
    }

    /// Writes the VIP's standby ring, then flips the VIP to it: the reconciler's order.
    func replaceRing(_ address: [UInt8], port: UInt16, proto: UInt8, ring: [UInt32]) throws {
        let key = vipKey(address, port: port, proto: proto)
        guard let index = try datapath.vipMap.lookup(key: key), var info = try datapath.vips.lookup(key: index) else {
            throw FixtureError.noVIP
        }
        let standby = info.ring ^ 1
        try writeRing(vip: index, ring: ring, live: standby)
        info.ring = standby
        info.flags = ring.isEmpty ? info.flags | UInt32(LB_VIP_F_NO_BACKEND) : info.flags & ~UInt32(LB_VIP_F_NO_BACKEND)
        try datapath.vips.update(key: index, value: info)
        ringPatterns[index] = ring
    }

    private func writeRing(vip: UInt32, ring: [UInt32], live: UInt32) throws {
        let size = Int(Self.limits.ringSize)
        let slots = (0..<size).map { ring.isEmpty ? 0 : ring[$0 % ring.count] }
        try datapath.writeRing(vipIndex: vip, ring: live, slots: slots)
        XCTAssertEqual(try datapath.readRing(vipIndex: vip, ring: live), slots)
    }

    /// The backend the VIP's ring gives a new flow, predicted with the test's own hash.
    func expectedBackend(vip: UInt32, hash: UInt32) -> UInt32 {
        let ring = ringPatterns[vip]!
        return ring[Int(FlowHash.slot(hash, ringSize: Self.limits.ringSize)) % ring.count]
    }

    @discardableResult
    func run(_ frame: [UInt8]) throws -> TestRunResult {
        try datapath.testRun(frame: frame)
    }

    func counters() throws -> [UInt64] { try datapath.globalCounters() }

    func flowKey(src: [UInt8], dst: [UInt8], sport: UInt16, dport: UInt16, proto: UInt8) -> lb_flow_key {
        var key = lb_flow_key()
        key.src = ABIAddress.words(src)
        key.dst = ABIAddress.words(dst)
        key.sport = sport.bigEndian
        key.dport = dport.bigEndian
        key.proto = proto
        key.family = ABIAddress.family(src)
        return key
    }

    /// The backend recorded for a flow: [] when it has no entry.
    func connectionBackends(_ key: lb_flow_key) throws -> [UInt32] {
        guard let entry = try datapath.connTable.lookup(key: key), entry.backend != 0 else { return [] }
        return [entry.backend]
    }

    enum FixtureError: Error { case noVIP }
}

/// Counter deltas, named like the ABI's enum, so an assertion reads like the case it checks.
struct CounterDelta {
    private let before: [UInt64]
    private let after: [UInt64]
    init(_ before: [UInt64], _ after: [UInt64]) { self.before = before; self.after = after }
    subscript(_ stat: lb_stat) -> UInt64 { after[Int(stat.rawValue)] - before[Int(stat.rawValue)] }

    /// Every counter not named stayed where it was.
    func assertOnly(_ expected: [lb_stat: UInt64], file: StaticString = #filePath, line: UInt = #line) {
        for i in 0..<Int(LB_STAT_COUNT.rawValue) {
            let stat = lb_stat(rawValue: UInt32(i))
            XCTAssertEqual(self[stat], expected[stat] ?? 0, "counter \(i)", file: file, line: line)
        }
    }
}
