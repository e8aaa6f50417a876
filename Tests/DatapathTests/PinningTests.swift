import CLBABI
import Datapath
import PacketCraft
import TestSupport
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

    /// A new lbd whose balancer differs in code only (outer TTL 63): its program replaces
    /// the pinned one over the same maps, entries and counters; the established flow
    /// goes on through the new code. Reopened by that build again, it is adopted.
    func testAnotherBuildOfTheProgramIsLoadedOverTheSameMaps() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.run(frame(tcp4(flags: Packet.TCPFlag.syn)))
        let old = lb.datapath
        let ringBefore = try old.readRing(vipIndex: 0, ring: 0)
        let build = try BalancerVariant(edits: [BalancerVariant.ttl63])
        addTeardownBlock { build.remove() }
        let variant = build.object

        let upgraded = try BalancerDatapath.open(pinDirectory: lb.pinDirectory, limits: BalancerFixture.limits,
                                                 objectPath: variant)
        XCTAssertFalse(upgraded.adopted, "\(upgraded.origin)")
        XCTAssertTrue("\(upgraded.origin)".contains("another build"), "\(upgraded.origin)")
        XCTAssertNotEqual(upgraded.program.id, old.program.id)
        XCTAssertEqual(
            [upgraded.vipMap.id, upgraded.vips.id, upgraded.vipFilter.id, upgraded.vipAddrs.id, upgraded.backends.id,
             upgraded.rings.id, upgraded.connTable.id, upgraded.config.id, upgraded.vipStats.id,
             upgraded.backendStats.id, upgraded.globalStats.id],
            [old.vipMap.id, old.vips.id, old.vipFilter.id, old.vipAddrs.id, old.backends.id, old.rings.id,
             old.connTable.id, old.config.id, old.vipStats.id, old.backendStats.id, old.globalStats.id],
            "the pinned maps themselves, not copies")
        XCTAssertEqual(try upgraded.connTable.lookup(key: flow)?.backend, a)
        XCTAssertEqual(try upgraded.counter(LB_STAT_NEW_FLOW), 1)
        XCTAssertEqual(try upgraded.readRing(vipIndex: 0, ring: 0), ringBefore)

        let ack = tcp4(flags: Packet.TCPFlag.ack)
        let result = try upgraded.testRun(frame: frame(ack))
        XCTAssertEqual(result.action, XDP_TX_)
        XCTAssertEqual(result.output, ipip(ack, client: client4, sport: 40000, backend: backendA, ttl: 63),
                       "the established flow, forwarded by the new code")
        XCTAssertEqual(try upgraded.counter(LB_STAT_NEW_FLOW), 1, "no new flow: the entry was used")

        let reopened = try BalancerDatapath.open(pinDirectory: lb.pinDirectory, limits: BalancerFixture.limits,
                                                 objectPath: variant)
        XCTAssertTrue(reopened.adopted, "\(reopened.origin)")
        XCTAssertEqual(reopened.program.id, upgraded.program.id)
        let downgraded = try BalancerDatapath.open(pinDirectory: lb.pinDirectory, limits: BalancerFixture.limits)
        XCTAssertFalse(downgraded.adopted, "the embedded build replaces the variant: \(downgraded.origin)")
        XCTAssertEqual(try downgraded.testRun(frame: frame(ack)).output,
                       ipip(ack, client: client4, sport: 40000, backend: backendA))
    }

    /// Maps pinned by a balancer whose structs have the same sizes but another meaning
    /// (lb_traffic's counters swapped) are not reused: refused, nothing changed.
    func testMapsOfAnotherStructLayoutAreRefused() throws {
        let build = try BalancerVariant(edits: [BalancerVariant.trafficSwapped])
        addTeardownBlock { build.remove() }
        let variant = build.object
        let pins = uniquePinDirectory("abi")
        addTeardownBlock { _ = try? BalancerDatapath.removePins(pinDirectory: pins) }
        let other = try BalancerDatapath.open(pinDirectory: pins, limits: BalancerFixture.limits, objectPath: variant)
        XCTAssertThrowsError(try BalancerDatapath.open(pinDirectory: pins, limits: BalancerFixture.limits)) { error in
            XCTAssertEqual((error as? DatapathError)?.kind, .incompatiblePins, "\(error)")
            XCTAssertTrue("\(error)".contains("lb_abi.h"), "\(error)")
        }
        let again = try BalancerDatapath.open(pinDirectory: pins, limits: BalancerFixture.limits, objectPath: variant)
        XCTAssertTrue(again.adopted, "nothing changed: \(again.origin)")
        XCTAssertEqual(again.program.id, other.program.id)
        XCTAssertEqual(again.vipStats.id, other.vipStats.id)
    }

    /// Maps recorded under another LB_ABI_VERSION are refused, even with equal structs;
    /// maps pinned before records existed count as ABI 1 and get one.
    func testMapsOfAnotherABIVersionAreRefused() throws {
        let record = lb.pinDirectory + "/abi"
        let lookup = ["bpftool", "-j", "map", "lookup", "pinned", record, "key", "0", "0", "0", "0"]
        let ours = try shell(lookup)
        XCTAssertTrue(ours.contains(#""value":["# + String(format: #""0x%02x","0x00","0x00","0x00""#, LB_ABI_VERSION)), ours)
        // Version 99; the reserved word and the layout digest 0.
        try shell(["bpftool", "map", "update", "pinned", record, "key", "0", "0", "0", "0", "value", "0x63"]
                  + Array(repeating: "0", count: 15))
        XCTAssertThrowsError(try BalancerDatapath.open(pinDirectory: lb.pinDirectory, limits: BalancerFixture.limits)) { error in
            XCTAssertEqual((error as? DatapathError)?.kind, .incompatiblePins, "\(error)")
            XCTAssertTrue("\(error)".contains("created for LB_ABI_VERSION 99; this binary uses \(LB_ABI_VERSION)"), "\(error)")
        }

        try shell("rm", record)
        if UInt32(LB_ABI_VERSION) == BalancerDatapath.unrecordedMapABI {
            let legacy = try BalancerDatapath.open(pinDirectory: lb.pinDirectory, limits: BalancerFixture.limits)
            XCTAssertTrue(legacy.adopted, "\(legacy.origin)")
            XCTAssertEqual(try shell(lookup), ours, "recorded again")
        } else {
            XCTAssertThrowsError(try BalancerDatapath.open(pinDirectory: lb.pinDirectory, limits: BalancerFixture.limits)) {
                XCTAssertTrue("\($0)".contains("pinned without an ABI record (LB_ABI_VERSION \(BalancerDatapath.unrecordedMapABI)); "
                                               + "this binary uses LB_ABI_VERSION \(LB_ABI_VERSION)"), "\($0)")
            }
        }
    }

    /// --reset-datapath's removal: only the pins that differ go, with the connection
    /// table when they are maps its entries point into; the rest keep their contents.
    func testResetReplacesOnlyThePinsThatDiffer() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.run(frame(tcp4(flags: Packet.TCPFlag.syn)))
        let old = lb.datapath
        let largerTable = try DatapathLimits(maxVIPs: 8, maxBackends: 16, ringSize: 13, connectionTable: 8192)
        XCTAssertThrowsError(try BalancerDatapath.open(pinDirectory: lb.pinDirectory, limits: largerTable))
        XCTAssertEqual(try BalancerDatapath.removeIncompatiblePins(pinDirectory: lb.pinDirectory, limits: largerTable),
                       ["conn_table"])
        let resized = try BalancerDatapath.open(pinDirectory: lb.pinDirectory, limits: largerTable)
        XCTAssertNotEqual(resized.connTable.id, old.connTable.id)
        XCTAssertEqual(try resized.connTable.keys().count, 0)
        XCTAssertEqual([resized.vipMap.id, resized.vips.id, resized.backends.id, resized.rings.id, resized.globalStats.id],
                       [old.vipMap.id, old.vips.id, old.backends.id, old.rings.id, old.globalStats.id])
        XCTAssertEqual(try resized.counter(LB_STAT_NEW_FLOW), 1)
        let ack = tcp4(flags: Packet.TCPFlag.ack)
        XCTAssertEqual(try resized.testRun(frame: frame(ack)).output,
                       ipip(ack, client: client4, sport: 40000, backend: backendA), "the VIP serves as it was")

        let moreBackends = try DatapathLimits(maxVIPs: 8, maxBackends: 32, ringSize: 13, connectionTable: 8192)
        XCTAssertEqual(try BalancerDatapath.removeIncompatiblePins(pinDirectory: lb.pinDirectory, limits: moreBackends),
                       ["backends", "quic_servers", "backend_stats", "conn_table"])
        let again = try BalancerDatapath.open(pinDirectory: lb.pinDirectory, limits: moreBackends)
        XCTAssertEqual(again.vipMap.id, old.vipMap.id)
        XCTAssertEqual(try BalancerDatapath.removeIncompatiblePins(pinDirectory: lb.pinDirectory, limits: moreBackends), [],
                       "compatible pins are never removed")
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
        let notBPFFS = uniqueName("/tmp/lbd-not-bpffs-")
        XCTAssertThrowsError(try BalancerDatapath.open(pinDirectory: notBPFFS, limits: BalancerFixture.limits)) { error in
            XCTAssertEqual((error as? DatapathError)?.kind, .notBPFFS, "\(error)")
            XCTAssertTrue("\(error)".hasPrefix("prepare pin directory \(notBPFFS): /tmp is not on a BPF filesystem (bpffs)"),
                          "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: notBPFFS))
    }
}

/// The loader compares every shared struct with the object's BTF before loading.
final class LayoutCheckTests: XCTestCase {
    func testAnObjectWhoseStructsDifferFromSwiftsIsRefused() throws {
        try requireRoot()
        let variant = try BalancerVariant(edits: [BalancerVariant.trafficGrown])
        addTeardownBlock { variant.remove() }
        XCTAssertThrowsError(try BalancerDatapath.loadUnpinned(limits: BalancerFixture.limits, objectPath: variant.object)) { error in
            XCTAssertEqual((error as? DatapathError)?.kind, .layoutMismatch, "\(error)")
            XCTAssertTrue("\(error)".contains("struct lb_traffic is 24 bytes in the object's BTF but 16 bytes in Swift"), "\(error)")
        }
    }
}
