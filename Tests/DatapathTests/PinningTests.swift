import CLBABI
import Datapath
import PacketCraft
import XCTest

/// A restarted daemon adopts the pinned datapath instead of resetting it.
final class PinningTests: BalancerTestCase {
    private var flow: lb_flow_key {
        lb.flowKey(src: client4, dst: vip4, sport: 40000, dport: 80, proto: Packet.tcp)
    }

    func testReopeningAdoptsTheProgramMapsAndConnections() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.run(frame(tcp4(flags: Packet.TCPFlag.syn)))
        let again = try BalancerDatapath.open(pinDirectory: lb.pinDirectory, limits: BalancerFixture.limits)
        XCTAssertTrue(again.adopted)
        XCTAssertEqual(again.program.id, lb.datapath.program.id, "the same program, not a reload")
        XCTAssertEqual(try again.connTable.lookup(key: flow)?.backend, a)
        XCTAssertEqual(try again.counter(LB_STAT_NEW_FLOW), 1)
        let ack = tcp4(flags: Packet.TCPFlag.ack)
        let result = try again.testRun(frame: frame(ack))
        XCTAssertEqual(result.action, XDP_TX_)
        XCTAssertEqual(result.output, ipip(ack, client: client4, sport: 40000, backend: backendA))
    }

    func testReloadKeepsTheMapsAndReplacesTheProgram() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.run(frame(tcp4(flags: Packet.TCPFlag.syn)))
        let upgraded = try BalancerDatapath.open(pinDirectory: lb.pinDirectory, limits: BalancerFixture.limits, policy: .reload)
        XCTAssertFalse(upgraded.adopted)
        XCTAssertNotEqual(upgraded.program.id, lb.datapath.program.id)
        XCTAssertEqual(try upgraded.counter(LB_STAT_NEW_FLOW), 1, "counters survive an upgrade")
        XCTAssertEqual(try upgraded.connTable.lookup(key: flow)?.backend, a, "connections survive an upgrade")
        XCTAssertTrue(try BalancerDatapath.open(pinDirectory: lb.pinDirectory, limits: BalancerFixture.limits).adopted)
    }

    func testOtherLimitsAreRefusedAndChangeNothing() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        let bigger = try DatapathLimits(maxVIPs: 16, maxBackends: 16, ringSize: 13, connectionTable: 4096)
        XCTAssertThrowsError(try BalancerDatapath.open(pinDirectory: lb.pinDirectory, limits: bigger)) { error in
            XCTAssertEqual((error as? DatapathError)?.kind, .incompatiblePins, "\(error)")
            let vipMap = (error as? DatapathError)?.details.first { $0.hasPrefix("map vip_map: pinned ") } ?? ""
            XCTAssertTrue(vipMap.contains("max_entries 8,") && vipMap.contains("; this binary needs ")
                          && vipMap.hasSuffix("max_entries 16, flags 0x0"), "\((error as? DatapathError)?.details ?? [])")
        }
        let again = try BalancerDatapath.open(pinDirectory: lb.pinDirectory, limits: BalancerFixture.limits)
        XCTAssertTrue(again.adopted)
        XCTAssertEqual(try again.vipMap.keys().count, 1)
    }

    func testAPinDirectoryOutsideBPFFSIsAClearError() throws {
        XCTAssertThrowsError(try BalancerDatapath.open(pinDirectory: "/tmp/lbd-not-bpffs-\(getpid())", limits: BalancerFixture.limits)) { error in
            XCTAssertEqual((error as? DatapathError)?.kind, .notBPFFS, "\(error)")
            XCTAssertTrue("\(error)".hasPrefix("prepare pin directory /tmp/lbd-not-bpffs-\(getpid()): /tmp is not on a BPF filesystem (bpffs)"),
                          "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/lbd-not-bpffs-\(getpid())"))
    }
}

/// The loader compares every shared struct with the object's BTF before loading.
final class LayoutCheckTests: XCTestCase {
    func testAnObjectWhoseStructsDifferFromSwiftsIsRefused() throws {
        try requireRoot()
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("lbd-layout-\(getpid())")
        defer { try? FileManager.default.removeItem(at: work) }
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try sh("cp -r '\(repo.path)/bpf' '\(work.path)/bpf'")
        // One more counter in struct lb_traffic: the object and Swift no longer agree.
        try sh("sed -i 's/^\\t__u64 bytes;$/\\t__u64 bytes;\\n\\t__u64 drops;/' '\(work.path)/bpf/lb_abi.h'")
        let object = work.appendingPathComponent("balancer.bpf.o").path
        try sh("cd '\(work.path)' && clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu -Ibpf -c bpf/balancer.bpf.c -o '\(object)'")
        XCTAssertThrowsError(try BalancerDatapath.loadUnpinned(limits: BalancerFixture.limits, objectPath: object)) { error in
            XCTAssertEqual((error as? DatapathError)?.kind, .layoutMismatch, "\(error)")
            XCTAssertTrue("\(error)".contains("struct lb_traffic is 24 bytes in the object's BTF but 16 bytes in Swift"), "\(error)")
        }
    }
}
