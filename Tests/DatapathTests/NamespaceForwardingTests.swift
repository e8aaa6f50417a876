import CLBABI
import Datapath
import Foundation
import PacketCraft
import TestSupport
import XCTest

/// Real TCP through the attached balancer: client, router, LB and backend namespaces on
/// veth; the backend strips the tunnel with bpf/decap.bpf.c and answers directly (DSR).
final class NamespaceForwardingTests: XCTestCase {
    private let run = uniqueName("lbdt")
    private var namespaces: [String] { ["client", "router", "lb", "backend"].map { "\(run)-\($0)" } }
    private var server: Process?

    private func ns(_ role: String) -> String { "\(run)-\(role)" }

    override func setUpWithError() throws {
        try requireRoot()
        try buildTopology()
    }

    override func tearDown() {
        server?.terminate()
        server?.waitUntilExit()
        for name in namespaces { _ = try? shell("ip", "netns", "del", name) }
    }

    /// client 10.99.1.2 — router — LB 10.99.2.2; router — backend 10.99.3.2; VIP 10.99.100.10.
    private func buildTopology() throws {
        for name in namespaces { try shell("ip", "netns", "add", name) }
        try link("client", "c0", "10.99.1.2/24", "router", "rc", "10.99.1.1/24")
        try link("lb", "l0", "10.99.2.2/24", "router", "rl", "10.99.2.1/24")
        try link("backend", "b0", "10.99.3.2/24", "router", "rb", "10.99.3.1/24")
        try shell("/bin/sh", "-c", """
            ip -n \(ns("client")) route add default via 10.99.1.1 && \
            ip -n \(ns("lb")) route add default via 10.99.2.1 && \
            ip -n \(ns("backend")) route add default via 10.99.3.1 && \
            ip -n \(ns("router")) route add 10.99.100.10/32 via 10.99.2.2 && \
            ip netns exec \(ns("router")) sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 && \
            ip -n \(ns("backend")) addr add 10.99.100.10/32 dev lo && \
            ip -n \(ns("backend")) link set lo up && \
            ip netns exec \(ns("backend")) sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.b0.rp_filter=0
            """)
    }

    private func link(_ a: String, _ aName: String, _ aAddress: String, _ b: String, _ bName: String, _ bAddress: String) throws {
        try shell("/bin/sh", "-c", """
            ip link add \(aName) netns \(ns(a)) type veth peer name \(bName) netns \(ns(b)) && \
            ip -n \(ns(a)) addr add \(aAddress) dev \(aName) && ip -n \(ns(a)) link set \(aName) up && \
            ip -n \(ns(b)) addr add \(bAddress) dev \(bName) && ip -n \(ns(b)) link set \(bName) up
            """)
    }

    private func startServer() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("\(run)-www")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try Data("served by backend 10.99.3.2\n".utf8).write(to: root.appendingPathComponent("hello"))
        server = try startLogged(["ip", "netns", "exec", ns("backend"), "python3", "-m", "http.server", "80",
                                  "--bind", "10.99.100.10", "--directory", root.path], log: root.path + "/server.log")
        try waitForBlocking("the backend's server listening", within: .seconds(5), every: .milliseconds(100)) {
            try shell("ip", "netns", "exec", ns("backend"), "ss", "-ltn").contains("10.99.100.10:80")
        }
    }

    private func configure(_ datapath: BalancerDatapath) throws {
        let gateway = try shell("ip", "netns", "exec", ns("router"), "cat", "/sys/class/net/rl/address")
            .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":").map { UInt8($0, radix: 16)! }
        var cfg = lb_config()
        withUnsafeMutableBytes(of: &cfg.gateway_mac) { $0.copyBytes(from: gateway) }
        cfg.mtu = 1500
        // Outer sources in a prefix no host owns: inside a local subnet one of them would
        // sooner or later be the router's own address, which it drops as a martian.
        cfg.encap_src_v4 = ABIAddress.words(Packet.ipv4("172.16.0.0")).0
        cfg.encap_src_v4_mask = ABIAddress.words(Packet.ipv4("255.255.0.0")).0
        cfg.udp_idle_timeout_s = 30
        try datapath.config.update(key: 0, value: cfg)
        var backend = lb_backend()
        backend.addr = ABIAddress.words(Packet.ipv4("10.99.3.2"))
        backend.family = UInt8(LB_FAMILY_V4)
        backend.flags = UInt8(LB_BACKEND_F_UP)
        try datapath.backends.update(key: 1, value: backend)
        try datapath.writeRing(vipIndex: 0, ring: 0, slots: [UInt32](repeating: 1, count: Int(BalancerFixture.limits.ringSize)))
        var key = lb_vip_key()
        key.addr = ABIAddress.words(Packet.ipv4("10.99.100.10"))
        key.port = UInt16(80).bigEndian
        key.proto = Packet.tcp
        key.family = UInt8(LB_FAMILY_V4)
        try datapath.installVIP(key, index: 0, info: lb_vip_info())
    }

    private func requestThroughTheVIP(mode: XDPMode) throws {
        let pins = uniquePinDirectory("netns")
        defer { _ = try? BalancerDatapath.removePins(pinDirectory: pins) }
        let balancer = try BalancerDatapath.open(pinDirectory: pins, limits: BalancerFixture.limits)
        try configure(balancer)
        let decap = try DecapDatapath.loadUnpinned()
        var host = lb_vip_addr_key()
        host.addr = ABIAddress.words(Packet.ipv4("10.99.3.2"))
        host.family = UInt8(LB_FAMILY_V4)
        try decap.decapAddrs.update(key: host, value: 1)
        try inNetworkNamespace(ns("lb")) { XCTAssertEqual(try balancer.attach(interface: "l0", mode: mode), mode) }
        try inNetworkNamespace(ns("backend")) { _ = try decap.attach(interface: "b0", mode: mode) }
        if mode == .native {
            // Native XDP_TX on veth needs an XDP program on the receiving peer, and the
            // router must not leave checksums partial for the tunnelled packets.
            // A decapsulator with no addresses passes everything: the peer's program.
            let passThrough = try DecapDatapath.loadUnpinned()
            try inNetworkNamespace(ns("router")) { _ = try passThrough.attach(interface: "rl", mode: .native) }
            try shell("ip", "netns", "exec", ns("router"), "ethtool", "-K", "rl", "tx", "off")
        }
        try startServer()
        for _ in 0..<5 {
            let body = try shell("ip", "netns", "exec", ns("client"), "curl", "-s", "--max-time", "5",
                                 "http://10.99.100.10/hello")
            XCTAssertEqual(body, "served by backend 10.99.3.2\n")
        }
        XCTAssertGreaterThan(try balancer.counter(LB_STAT_XDP_TX), 10, "client packets were encapsulated by the LB")
        XCTAssertGreaterThan(try balancer.counter(LB_STAT_NEW_FLOW), 4)
        XCTAssertGreaterThan(try decap.counter(LB_DECAP_STAT_IPIP), 10, "the backend stripped the tunnel")
    }

    func testHTTPThroughTheVIPInGenericMode() throws {
        try requestThroughTheVIP(mode: .generic)
    }

    func testHTTPThroughTheVIPInNativeMode() throws {
        try requestThroughTheVIP(mode: .native)
    }
}
