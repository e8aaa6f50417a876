@testable import Balancer
import HealthCheck
import Maglev
import TestDoubles
import XCTest
import TestSupport

/// Exact writes of the reconciler, checked against the in-memory datapath, whose own
/// checks (no live ring written, no ring naming a backend that is not up, generations
/// on reuse) must never fire.
final class ReconcilerTests: XCTestCase {
    typealias Op = InMemoryDatapath.Operation

    private let web = vip("10.0.0.10:80/tcp")
    private let dns = vip("10.0.0.10:53/udp")
    private let v6 = vip("[2001:db8::10]:443/tcp")

    private func makeReconciler(quarantine: Duration = .seconds(3600)) -> (Reconciler, InMemoryDatapath) {
        let datapath = InMemoryDatapath(limits: testLimits)
        return (Reconciler(writer: datapath, limits: testLimits, quarantine: quarantine), datapath)
    }

    /// `state` with every service checked over TCP, backends starting up, never in panic
    /// (a single backend down would be one).
    private func tcpChecked(_ state: DesiredState) throws -> DesiredState {
        let check = try ServiceHealthCheck(check: HealthCheckDefinition(type: .tcp, startState: .up), panicThreshold: 0)
        return try DesiredState(validating: state.sortedServices.map {
            var service = $0
            service.healthCheck = check
            return service
        }, limits: testLimits)
    }

    private func state(_ services: ServiceSpec...) throws -> DesiredState {
        try DesiredState(validating: services, limits: testLimits)
    }

    /// The Maglev table of `backends` as backend indices, via the datapath's index of each address.
    private func expectedRing(_ backends: [(String, Int)], indices: [String: UInt32]) throws -> [UInt32] {
        let table = try MaglevTable(backends: backends.map { try MaglevBackend(id: ip($0.0).identity, weight: $0.1) },
                                    size: testLimits.ringSize)
        let byIdentity = Dictionary(uniqueKeysWithValues: backends.map { (ip($0.0).identity, indices[$0.0] ?? 0) })
        return table.slots.map { byIdentity[table.backends[Int($0)].id] ?? 0 }
    }

    private func assertClean(_ datapath: InMemoryDatapath, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(datapath.violations, [], file: file, line: line)
    }

    // MARK: Exact writes

    func testAddVIPWritesBackendsThenBothRingsThenTheVIP() async throws {
        let (reconciler, datapath) = makeReconciler()
        let summary = try await reconciler.apply(state(ServiceSpec(vip: web, backends: [backend("192.0.2.11"),
                                                                                        backend("192.0.2.12")])))
        XCTAssertEqual(datapath.log, [
            .setBackend(index: 1, address: ip("192.0.2.11"), up: true),
            .setBackend(index: 2, address: ip("192.0.2.12"), up: true),
            .writeRing(vipIndex: 0, ring: 1, changedSlots: nil),
            .writeRing(vipIndex: 0, ring: 0, changedSlots: nil),
            .installVIP(web, index: 0, info: VIPInfo(flags: [], liveRing: 1, udpIdleTimeoutSeconds: 0, generation: 1)),
        ])
        XCTAssertEqual(summary, ReconcileSummary(backendsSet: 2, ringsWritten: 2, vipsInstalled: 1))
        let ring = try expectedRing([("192.0.2.11", 100), ("192.0.2.12", 100)], indices: ["192.0.2.11": 1, "192.0.2.12": 2])
        XCTAssertEqual(datapath.ring(vipIndex: 0, ring: 1), ring)
        XCTAssertEqual(datapath.ring(vipIndex: 0, ring: 0), ring)
        XCTAssertEqual(datapath.route(web, slot: 0), ring[0] == 1 ? ip("192.0.2.11") : ip("192.0.2.12"))
        assertClean(datapath)
    }

    func testFlagsAndTimeoutOfTheVIPEntry() async throws {
        let (reconciler, datapath) = makeReconciler()
        try await reconciler.apply(sampleState())
        let dnsIndex = try XCTUnwrap(datapath.vipIndex(dns))
        XCTAssertEqual(datapath.vipInfo(index: dnsIndex),
                       VIPInfo(flags: .hashSourceOnly, liveRing: 1, udpIdleTimeoutSeconds: 10, generation: 1))
        datapath.clearLog()
        // Only the hash mode changes: the VIP entry, not the ring.
        var services = try sampleState().sortedServices
        services[0].hash = .fiveTuple
        try await reconciler.apply(DesiredState(validating: services, limits: testLimits))
        XCTAssertEqual(datapath.log, [.installVIP(dns, index: dnsIndex, info: VIPInfo(flags: [], liveRing: 1,
                                                                               udpIdleTimeoutSeconds: 10, generation: 1))])
        assertClean(datapath)
    }

    func testAddBackendWritesOnlyTheSlotsThatChanged() async throws {
        let (reconciler, datapath) = makeReconciler()
        try await reconciler.apply(state(ServiceSpec(vip: web, backends: [backend("192.0.2.11"), backend("192.0.2.12")])))
        datapath.clearLog()
        try await reconciler.apply(state(ServiceSpec(vip: web, backends: [backend("192.0.2.11"), backend("192.0.2.12"),
                                                                          backend("192.0.2.13")])))
        let indices: [String: UInt32] = ["192.0.2.11": 1, "192.0.2.12": 2, "192.0.2.13": 3]
        let before = try expectedRing([("192.0.2.11", 100), ("192.0.2.12", 100)], indices: indices)
        let after = try expectedRing([("192.0.2.11", 100), ("192.0.2.12", 100), ("192.0.2.13", 100)], indices: indices)
        let changed = after.indices.filter { after[$0] != before[$0] }
        XCTAssertEqual(datapath.log, [
            .setBackend(index: 3, address: ip("192.0.2.13"), up: true),
            .writeRing(vipIndex: 0, ring: 0, changedSlots: changed),
            .installVIP(web, index: 0, info: VIPInfo(flags: [], liveRing: 0, udpIdleTimeoutSeconds: 0, generation: 1)),
        ])
        // Maglev moves about a third of the slots, nearly all to the newcomer.
        XCTAssertEqual(Double(changed.count) / Double(after.count), 1.0 / 3.0, accuracy: 0.03)
        XCTAssertGreaterThan(changed.filter { after[$0] == 3 }.count, changed.count * 95 / 100)
        XCTAssertEqual(datapath.ring(vipIndex: 0, ring: 0), after)
        XCTAssertEqual(datapath.ring(vipIndex: 0, ring: 1), before, "the retired ring is left as it was")
        let stats = await reconciler.stats
        XCTAssertEqual(stats.lastRingChange, RingChange(vip: web, changedSlots: changed.count, ringSize: 1009))
        XCTAssertEqual(stats.ringSlotsWritten, 2 * 1009 + changed.count)
        assertClean(datapath)
    }

    /// Drained: out of the ring, still up in the backends map, so its flows continue.
    func testDrainTakesTheBackendOutOfTheRingButLeavesItUp() async throws {
        let (reconciler, datapath) = makeReconciler()
        let services = [backend("192.0.2.11"), backend("192.0.2.12"), backend("192.0.2.13")]
        try await reconciler.apply(state(ServiceSpec(vip: web, backends: services)))
        datapath.clearLog()
        let drained = try state(ServiceSpec(vip: web, backends: services)).applying(.drain(ip("192.0.2.12"), vip: nil),
                                                                                     limits: testLimits)
        try await reconciler.apply(drained)
        let ops = datapath.log
        XCTAssertEqual(ops.count, 2)
        guard case .writeRing(0, 0, let changed?) = ops.first else { return XCTFail("\(ops)") }
        XCTAssertEqual(ops.last, .installVIP(web, index: 0, info: VIPInfo(flags: [], liveRing: 0, udpIdleTimeoutSeconds: 0,
                                                                           generation: 1)))
        XCTAssertFalse(datapath.ring(vipIndex: 0, ring: 0).contains(2))
        let drainedSlots = datapath.ring(vipIndex: 0, ring: 1).indices.filter { datapath.ring(vipIndex: 0, ring: 1)[$0] == 2 }
        XCTAssertTrue(Set(drainedSlots).isSubset(of: changed))
        XCTAssertLessThan(changed.count, drainedSlots.count * 102 / 100, "little besides the drained backend's slots moves")
        XCTAssertEqual(datapath.backend(index: 2)?.up, true)
        assertClean(datapath)
    }

    /// Down: out of every ring first, then marked down (its flows re-pick); back up:
    /// marked up first, and the retired ring still holds the old table, so only a flip.
    func testBackendDownAndBackUp() async throws {
        let (reconciler, datapath) = makeReconciler()
        try await reconciler.apply(sampleState())
        let webIndex = try XCTUnwrap(datapath.vipIndex(web))
        let dnsIndex = try XCTUnwrap(datapath.vipIndex(dns))
        let liveBefore = datapath.ring(vipIndex: webIndex, ring: 1)
        datapath.clearLog()

        try await reconciler.setHealth(ip("192.0.2.11"), up: false)
        let down = datapath.log
        // dns has no other backend: no ring to write, NO_BACKEND; web: standby ring, flip;
        // the IPv6 VIP is not touched; the backend goes down last.
        XCTAssertEqual(down.map(\.description), [
            "installVIP 10.0.0.10:53/udp index \(dnsIndex) ring 1 gen 1 flags 3",
            "writeRing vip \(webIndex) ring 0 \(liveBefore.filter { $0 == 1 }.count) slots",
            "installVIP 10.0.0.10:80/tcp index \(webIndex) ring 0 gen 1 flags 0",
            "setBackend 1 192.0.2.11 down",
        ])
        XCTAssertFalse(datapath.ring(vipIndex: webIndex, ring: 0).contains(1))
        XCTAssertEqual(datapath.backend(index: 1)?.up, false)
        XCTAssertNil(datapath.route(dns, slot: 0))
        XCTAssertEqual(Set((0..<1009).compactMap { datapath.route(web, slot: $0) }), [ip("192.0.2.12")])
        datapath.clearLog()

        try await reconciler.setHealth(ip("192.0.2.11"), up: true)
        XCTAssertEqual(datapath.log.map(\.description), [
            "setBackend 1 192.0.2.11 up",
            "installVIP 10.0.0.10:53/udp index \(dnsIndex) ring 1 gen 1 flags 1",
            "installVIP 10.0.0.10:80/tcp index \(webIndex) ring 1 gen 1 flags 0",
        ])
        XCTAssertEqual(datapath.ring(vipIndex: webIndex, ring: 1), liveBefore)
        assertClean(datapath)
    }

    func testRemoveVIPThenReuseTheIndexWithANewGeneration() async throws {
        let (reconciler, datapath) = makeReconciler()
        try await reconciler.apply(state(ServiceSpec(vip: web, backends: [backend("192.0.2.11"), backend("192.0.2.12")])))
        datapath.clearLog()
        try await reconciler.apply(DesiredState())
        XCTAssertEqual(datapath.log, [.removeVIP(web), .clearBackend(index: 1), .clearBackend(index: 2)])
        XCTAssertNil(datapath.vipIndex(web))
        XCTAssertEqual(datapath.vipInfo(index: 0)?.generation, 2, "removal moves the generation on")
        datapath.clearLog()

        // The same index, a later generation; a backend index not reused during its quarantine.
        let other = vip("10.0.0.20:8080/tcp")
        try await reconciler.apply(state(ServiceSpec(vip: other, backends: [backend("192.0.2.21")])))
        // Removed in an earlier pass, so no packet reads its rings: both written (every
        // slot changes), then the flip.
        XCTAssertEqual(datapath.log, [
            .setBackend(index: 3, address: ip("192.0.2.21"), up: true),
            .writeRing(vipIndex: 0, ring: 0, changedSlots: Array(0..<1009)),
            .writeRing(vipIndex: 0, ring: 1, changedSlots: Array(0..<1009)),
            .installVIP(other, index: 0, info: VIPInfo(flags: [], liveRing: 0, udpIdleTimeoutSeconds: 0, generation: 3)),
        ])
        assertClean(datapath)
    }

    /// Removing one VIP and adding another in one pass: the removal comes first (the
    /// key table may be full), and the index taken over has its old live ring left alone.
    func testReplacingAVIPInOnePass() async throws {
        let (reconciler, datapath) = makeReconciler()
        try await reconciler.apply(state(ServiceSpec(vip: web, backends: [backend("192.0.2.11")])))
        datapath.clearLog()
        let other = vip("10.0.0.20:8080/tcp")
        try await reconciler.apply(state(ServiceSpec(vip: other, backends: [backend("192.0.2.12")])))
        XCTAssertEqual(datapath.log, [
            .setBackend(index: 2, address: ip("192.0.2.12"), up: true),
            .removeVIP(web),
            .writeRing(vipIndex: 0, ring: 0, changedSlots: Array(0..<1009)),
            .installVIP(other, index: 0, info: VIPInfo(flags: [], liveRing: 0, udpIdleTimeoutSeconds: 0, generation: 3)),
            .clearBackend(index: 1),
        ])
        XCTAssertEqual(datapath.ring(vipIndex: 0, ring: 1), [UInt32](repeating: 1, count: 1009),
                       "the previous owner's live ring is not touched in the pass that removed it")
        assertClean(datapath)
    }

    func testClearedBackendIndicesAreQuarantined() async throws {
        for (quarantine, reused) in [(Duration.seconds(3600), false), (.zero, true)] {
            let (reconciler, datapath) = makeReconciler(quarantine: quarantine)
            try await reconciler.apply(state(ServiceSpec(vip: web, backends: [backend("192.0.2.11"), backend("192.0.2.12")])))
            try await reconciler.apply(state(ServiceSpec(vip: web, backends: [backend("192.0.2.11"), backend("192.0.2.13")])))
            XCTAssertEqual(datapath.backend(index: 3)?.address, ip("192.0.2.13"), "index 2 is still in use during the pass")
            XCTAssertNil(datapath.backend(index: 2))
            try await reconciler.apply(state(ServiceSpec(vip: web, backends: [backend("192.0.2.11"), backend("192.0.2.13"),
                                                                              backend("192.0.2.14")])))
            XCTAssertEqual(datapath.backend(index: reused ? 2 : 4)?.address, ip("192.0.2.14"), "quarantine \(quarantine)")
            assertClean(datapath)
        }
    }

    /// With the whole backend set replaced twice within the quarantine, the pool runs
    /// out and the longest quarantined index is taken rather than failing.
    func testQuarantineGivesWayWhenThePoolIsEmpty() async throws {
        let limits = Limits(maxVIPs: 2, maxBackends: 2, ringSize: 211, connectionTable: 10)
        let datapath = InMemoryDatapath(limits: limits)
        let reconciler = Reconciler(writer: datapath, limits: limits, quarantine: .seconds(3600))
        for pair in [("192.0.2.1", "192.0.2.2"), ("192.0.2.3", "192.0.2.4"), ("192.0.2.5", "192.0.2.6")] {
            try await reconciler.apply(DesiredState(validating: [
                ServiceSpec(vip: web, backends: [backend(pair.0), backend(pair.1)]),
            ], limits: limits))
        }
        let snapshot = await reconciler.snapshot()
        XCTAssertEqual(snapshot.backends.map(\.index), [1, 2])
        assertClean(datapath)
    }

    /// A backend index handed to another address gets the next generation, also from a
    /// daemon that adopted the maps after the index's previous backend was cleared.
    func testAReusedBackendIndexGetsTheNextGenerationAcrossARestart() async throws {
        let (first, datapath) = makeReconciler(quarantine: .zero)
        try await first.apply(state(ServiceSpec(vip: web, backends: [backend("192.0.2.11"), backend("192.0.2.12")])))
        try await first.apply(state(ServiceSpec(vip: web, backends: [backend("192.0.2.12")])))
        XCTAssertEqual(datapath.installedState().freeBackendGenerations, [1: 1])
        let second = Reconciler(writer: datapath, limits: testLimits, quarantine: .zero)
        try await second.adopt(datapath.installedState())
        try await second.apply(state(ServiceSpec(vip: web, backends: [backend("192.0.2.12"), backend("192.0.2.13")])))
        XCTAssertEqual(datapath.backend(index: 1)?.address, ip("192.0.2.13"))
        XCTAssertEqual(datapath.backendGeneration(index: 1), 2)
        XCTAssertEqual(datapath.backendGeneration(index: 2), 1, "kept by the adopting daemon")
        assertClean(datapath)
    }

    func testNoOpReconcileWritesNothing() async throws {
        let (reconciler, datapath) = makeReconciler()
        try await reconciler.apply(sampleState())
        datapath.clearLog()
        let summaries = [
            try await reconciler.apply(sampleState()),
            try await reconciler.reconcile(),
            try await reconciler.setHealth(ip("192.0.2.11"), up: true),
            try await reconciler.setHealth(ip("198.51.100.1"), up: false),
            try await reconciler.setHealth([:]),
        ]
        XCTAssertEqual(summaries, Array(repeating: ReconcileSummary(), count: summaries.count))
        XCTAssertEqual(datapath.log, [])
        let stats = await reconciler.stats
        XCTAssertEqual(stats.reconciles, 6)
        XCTAssertEqual(stats.failures, 0)
    }

    func testAllBackendsDrainedOrZeroWeightMeansNoBackend() async throws {
        let (reconciler, datapath) = makeReconciler()
        try await reconciler.apply(state(ServiceSpec(vip: web, backends: [backend("192.0.2.11", drained: true),
                                                                          backend("192.0.2.12", weight: 0)])))
        XCTAssertEqual(datapath.log, [
            .setBackend(index: 1, address: ip("192.0.2.11"), up: true),
            .setBackend(index: 2, address: ip("192.0.2.12"), up: true),
            .installVIP(web, index: 0, info: VIPInfo(flags: .noBackend, liveRing: 0, udpIdleTimeoutSeconds: 0, generation: 1)),
        ])
        let snapshot = await reconciler.snapshot()
        XCTAssertEqual(snapshot.vips.map(\.activeBackends), [[]])
        assertClean(datapath)
    }

    func testIPv4VIPWithIPv6BackendIsInstalled() async throws {
        let (reconciler, datapath) = makeReconciler()
        try await reconciler.apply(state(ServiceSpec(vip: web, backends: [backend("2001:db8::11")])))
        XCTAssertEqual(datapath.route(web, slot: 5), ip("2001:db8::11"))
        assertClean(datapath)
    }

    // MARK: Health per service

    /// Routes of every slot of the VIP's live ring, as a set of addresses.
    private func routed(_ datapath: InMemoryDatapath, _ vip: VIPKey) -> Set<IPAddress> {
        Set((0..<1009).compactMap { datapath.route(vip, slot: $0) })
    }

    private func isUp(_ datapath: InMemoryDatapath, _ address: IPAddress) -> Bool? {
        (1..<64).lazy.compactMap { datapath.backend(index: $0) }.first { $0.address == address }?.up
    }

    /// A backend failing one service's check leaves that ring only; its datapath entry
    /// (per address: established flows) goes down once it fails in every service.
    func testHealthIsPerServiceAndTheEntryFollowsTheLastService() async throws {
        let (reconciler, datapath) = makeReconciler()
        let api = vip("10.0.0.10:443/tcp")
        let check = try ServiceHealthCheck(check: HealthCheckDefinition(type: .tcp, startState: .up))
        try await reconciler.apply(state(
            ServiceSpec(vip: web, backends: [backend("192.0.2.11"), backend("192.0.2.12")], healthCheck: check),
            ServiceSpec(vip: api, backends: [backend("192.0.2.11"), backend("192.0.2.12")], healthCheck: check)))
        try await reconciler.setHealth([BackendRef(vip: api, address: ip("192.0.2.11")): false])
        XCTAssertEqual(routed(datapath, web), [ip("192.0.2.11"), ip("192.0.2.12")])
        XCTAssertEqual(routed(datapath, api), [ip("192.0.2.12")])
        XCTAssertEqual(isUp(datapath, ip("192.0.2.11")), true)
        try await reconciler.setHealth([BackendRef(vip: web, address: ip("192.0.2.11")): false])
        XCTAssertEqual(routed(datapath, web), [ip("192.0.2.12")])
        XCTAssertEqual(isUp(datapath, ip("192.0.2.11")), false)
        try await reconciler.setHealth([BackendRef(vip: api, address: ip("192.0.2.11")): true])
        XCTAssertEqual(routed(datapath, api), [ip("192.0.2.11"), ip("192.0.2.12")])
        XCTAssertEqual(isUp(datapath, ip("192.0.2.11")), true)
        assertClean(datapath)
    }

    /// A backend new to a checked service starts as `start_state` says (down: out of the
    /// ring until reported up); removing the check brings it back, as nothing else would.
    func testStartStateAndRemovingTheCheck() async throws {
        let (reconciler, datapath) = makeReconciler()
        let check = try ServiceHealthCheck(check: HealthCheckDefinition(type: .http))
        let checked = ServiceSpec(vip: web, backends: [backend("192.0.2.11"), backend("192.0.2.12")], healthCheck: check)
        try await reconciler.apply(state(checked))
        XCTAssertEqual(routed(datapath, web), [])
        XCTAssertEqual(isUp(datapath, ip("192.0.2.11")), false)
        try await reconciler.setHealth([BackendRef(vip: web, address: ip("192.0.2.12")): true])
        XCTAssertEqual(routed(datapath, web), [ip("192.0.2.12")])
        var unchecked = checked
        unchecked.healthCheck = nil
        try await reconciler.apply(state(unchecked))
        XCTAssertEqual(routed(datapath, web), [ip("192.0.2.11"), ip("192.0.2.12")])
        XCTAssertEqual(isUp(datapath, ip("192.0.2.11")), true)
        let unhealthy = await reconciler.unhealthyBackends()
        XCTAssertEqual(unhealthy, [])
        assertClean(datapath)
    }

    /// Panic (default threshold 50 %): two of four backends down leaves 50 % up and the
    /// ring to the other two; a third down (25 %) puts every backend back in the ring,
    /// entries up, and says so in the snapshot; one coming back ends the panic.
    func testPanicRoutesToEveryBackendBelowTheThreshold() async throws {
        let (reconciler, datapath) = makeReconciler()
        let check = try ServiceHealthCheck(check: HealthCheckDefinition(type: .tcp, startState: .up))
        let addresses = (11...14).map { ip("192.0.2.\($0)") }
        try await reconciler.apply(state(ServiceSpec(vip: web, backends: addresses.map { backend($0.description) },
                                                     healthCheck: check)))
        func ref(_ last: Int) -> BackendRef { BackendRef(vip: web, address: ip("192.0.2.\(last)")) }

        try await reconciler.setHealth([ref(11): false, ref(12): false])
        XCTAssertEqual(routed(datapath, web), [ip("192.0.2.13"), ip("192.0.2.14")])
        var vips = await reconciler.snapshot().vips
        var snapshot = try XCTUnwrap(vips.first)
        XCTAssertFalse(snapshot.panic)
        XCTAssertEqual(snapshot.backendsUp, 2)

        try await reconciler.setHealth([ref(13): false])
        XCTAssertEqual(routed(datapath, web), Set(addresses))
        XCTAssertEqual(addresses.map { isUp(datapath, $0) }, [true, true, true, true])
        vips = await reconciler.snapshot().vips
        snapshot = try XCTUnwrap(vips.first)
        XCTAssertTrue(snapshot.panic)
        XCTAssertEqual(snapshot.backendsUp, 1)
        XCTAssertEqual(snapshot.activeBackends, addresses)
        XCTAssertEqual(reconciler.published.view.snapshot.vips.first?.panic, true)

        try await reconciler.setHealth([ref(11): true])
        XCTAssertEqual(routed(datapath, web), [ip("192.0.2.11"), ip("192.0.2.14")])
        XCTAssertEqual(isUp(datapath, ip("192.0.2.12")), false)
        vips = await reconciler.snapshot().vips
        snapshot = try XCTUnwrap(vips.first)
        XCTAssertFalse(snapshot.panic)
        assertClean(datapath)
    }

    /// A backend no check has passed since it joined (start_state down) takes no part in
    /// a panic; a threshold of 0 never panics.
    func testPanicLeavesOutBackendsNoCheckVouchedFor() async throws {
        let (reconciler, datapath) = makeReconciler()
        let waiting = try ServiceHealthCheck(check: HealthCheckDefinition(type: .tcp))
        let never = try ServiceHealthCheck(check: HealthCheckDefinition(type: .tcp, startState: .up), panicThreshold: 0)
        let api = vip("10.0.0.10:443/tcp")
        try await reconciler.apply(state(
            ServiceSpec(vip: web, backends: [backend("192.0.2.11"), backend("192.0.2.12")], healthCheck: waiting),
            ServiceSpec(vip: api, backends: [backend("192.0.2.21"), backend("192.0.2.22")], healthCheck: never)))
        XCTAssertEqual(routed(datapath, web), [])
        try await reconciler.setHealth([BackendRef(vip: web, address: ip("192.0.2.11")): true])
        XCTAssertEqual(routed(datapath, web), [ip("192.0.2.11")])
        try await reconciler.setHealth([BackendRef(vip: web, address: ip("192.0.2.11")): false])
        XCTAssertEqual(routed(datapath, web), [ip("192.0.2.11")], "in panic, the backend that has been up")
        XCTAssertEqual(isUp(datapath, ip("192.0.2.12")), false)

        try await reconciler.setHealth(ip("192.0.2.21"), up: false)
        try await reconciler.setHealth(ip("192.0.2.22"), up: false)
        XCTAssertEqual(routed(datapath, api), [])
        let installed = await reconciler.snapshot().vips
        let panics = Dictionary(uniqueKeysWithValues: installed.map { ($0.key, $0.panic) })
        XCTAssertEqual(panics, [web: true, api: false])
        assertClean(datapath)
    }

    // MARK: Adoption

    /// With checked backends, adopted health is kept too: the one down stays down (its
    /// checks start from there), the rest stay in their rings.
    func testAdoptionWritesNothingWhenTheStateMatches() async throws {
        let (first, datapath) = makeReconciler()
        let checked = try tcpChecked(sampleState())
        try await first.apply(checked)
        try await first.setHealth(ip("2001:db8::11"), up: false)
        try await first.apply(try checked.applying(.drain(ip("192.0.2.12"), vip: nil), limits: testLimits))
        let before = await first.snapshot()
        datapath.clearLog()

        let second = Reconciler(writer: datapath, limits: testLimits)
        try await second.adopt(datapath.installedState())
        let summary = try await second.apply(try checked.applying(.drain(ip("192.0.2.12"), vip: nil), limits: testLimits))
        XCTAssertEqual(summary.writes, 0)
        XCTAssertEqual(datapath.log, [])
        let after = await second.snapshot()
        XCTAssertEqual(after.vips.map(\.index), before.vips.map(\.index))
        XCTAssertEqual(after.vips.map(\.info), before.vips.map(\.info))
        XCTAssertEqual(after.backends, before.backends, "indices and the down backend kept")

        let unhealthy = await second.unhealthyBackends()
        XCTAssertEqual(unhealthy, [BackendRef(vip: vip("[2001:db8::10]:443/tcp"), address: ip("2001:db8::11"))])

        // Then a change is a diff against the adopted rings.
        try await second.apply(try sampleState().applying(.addBackend(web, backend("192.0.2.13")), limits: testLimits))
        let rings = datapath.log.compactMap { if case .writeRing(_, _, let changed) = $0 { changed } else { nil } }
        XCTAssertEqual(rings.count, 1, "\(datapath.log)")
        XCTAssertLessThan(rings.first?.count ?? 1009, 1009 / 2)
        assertClean(datapath)
    }

    /// Before the first `apply` there is no desired state, which is not an empty one:
    /// passes and health reports write nothing, so adopted VIPs stay; a report for a
    /// backend no service has (yet) is ignored.
    func testNothingIsWrittenBeforeTheFirstApply() async throws {
        let (first, datapath) = makeReconciler()
        try await first.apply(sampleState())
        datapath.clearLog()
        let second = Reconciler(writer: datapath, limits: testLimits)
        try await second.adopt(datapath.installedState())
        let summaries = [try await second.reconcile(), try await second.setHealth(ip("192.0.2.11"), up: false)]
        XCTAssertEqual(summaries, [ReconcileSummary(), ReconcileSummary()])
        XCTAssertEqual(datapath.log, [])
        try await second.apply(sampleState())
        XCTAssertEqual(datapath.log, [], "the adopted maps hold this state")
        let unhealthy = await second.unhealthyBackends()
        XCTAssertEqual(unhealthy, [])
        assertClean(datapath)
    }

    /// What the previous daemon left that is no longer wanted goes; a standby ring not
    /// read is rewritten whole at the next change; free indices keep their generations.
    func testAdoptionCleansUpAndRespectsGenerations() async throws {
        let (first, datapath) = makeReconciler()
        try await first.apply(sampleState())
        try await first.apply(try sampleState().applying(.removeVIP(v6), limits: testLimits))
        var installed = datapath.installedState()
        XCTAssertEqual(installed.freeGenerations, [2: 2])
        installed.vips = installed.vips.map { var vip = $0; vip.standbySlots = nil; return vip }
        // A stale entry, and a second entry for an address (a crash mid-way could leave both).
        installed.backends += [.init(index: 6, address: ip("192.0.2.12"), up: true),
                               .init(index: 7, address: ip("198.51.100.7"), up: true)]
        datapath.clearLog()

        let second = Reconciler(writer: datapath, limits: testLimits)
        try await second.adopt(installed)
        var services = try sampleState().sortedServices
        services[1].backends = [backend("192.0.2.12"), backend("192.0.2.13")]
        services[2].backends = [backend("2001:db8::12")]
        try await second.apply(DesiredState(validating: services, limits: testLimits))
        XCTAssertEqual(datapath.log.map(\.description), [
            "setBackend 3 192.0.2.13 up",
            "setBackend 4 2001:db8::12 up",
            "writeRing vip 1 ring 0 all",
            "installVIP 10.0.0.10:80/tcp index 1 ring 0 gen 1 flags 0",
            "writeRing vip 2 ring 1 all",
            "writeRing vip 2 ring 0 all",
            "installVIP [2001:db8::10]:443/tcp index 2 ring 1 gen 3 flags 0",
            "clearBackend 6",
            "clearBackend 7",
        ])
        assertClean(datapath)
    }

    func testAdoptionRefusesWhatDoesNotFit() async throws {
        let (first, datapath) = makeReconciler()
        try await first.apply(sampleState())
        let good = datapath.installedState()
        var badIndex = good
        badIndex.vips[0].index = 8
        var badRing = good
        badRing.vips[1].liveSlots.removeLast()
        var badBackend = good
        badBackend.backends[0].index = 0
        var shared = good
        shared.vips[1].index = shared.vips[0].index
        let cases: [(InstalledState, String)] = [
            (badIndex, "cannot adopt the installed datapath state: VIP 10.0.0.10:53/udp has index 8, out of range or shared"),
            (badRing, "cannot adopt the installed datapath state: VIP 10.0.0.10:80/tcp has a ring of 1008 slots; "
                + "ring_size is 1009"),
            (badBackend, "cannot adopt the installed datapath state: backend 192.0.2.11 has index 0, out of range or shared"),
            (shared, "cannot adopt the installed datapath state: VIP 10.0.0.10:80/tcp has index 0, out of range or shared"),
        ]
        for (installed, message) in cases {
            let reconciler = Reconciler(writer: datapath, limits: testLimits)
            do {
                try await reconciler.adopt(installed)
                XCTFail(message)
            } catch {
                XCTAssertEqual("\(error)", message)
            }
            let snapshot = await reconciler.snapshot()
            XCTAssertEqual(snapshot.vips, [], "nothing adopted")
        }
        do {
            try await first.adopt(good)
            XCTFail("adopted after writing")
        } catch {
            XCTAssertEqual("\(error)",
                           "cannot adopt the installed datapath state: the reconciler has already adopted or written the maps")
        }
    }

    // MARK: Failures

    /// A failed write stops the pass; the next pass finishes the job and the maps end as
    /// if nothing had failed.
    func testEveryFailedWriteIsFinishedByTheNextPass() async throws {
        let (clean, reference) = makeReconciler()
        try await clean.apply(sampleState())
        try await clean.setHealth(ip("192.0.2.11"), up: false)
        let target = try sampleState().applying(.addBackend(web, backend("192.0.2.13")), limits: testLimits)
        try await clean.apply(target)

        let kinds: [(String, @Sendable (Op) -> Bool)] = [
            ("setBackend", { if case .setBackend = $0 { true } else { false } }),
            ("writeRing", { if case .writeRing = $0 { true } else { false } }),
            ("installVIP", { if case .installVIP = $0 { true } else { false } }),
            ("removeVIP", { if case .removeVIP = $0 { true } else { false } }),
            ("clearBackend", { if case .clearBackend = $0 { true } else { false } }),
        ]
        for (name, matches) in kinds {
            for afterApplying in [false, true] {
                // From a state with a VIP the target lacks and without one it has, so the
                // pass makes every kind of write.
                let (reconciler, datapath) = makeReconciler()
                try await reconciler.apply(sampleState())
                try await reconciler.setHealth(ip("192.0.2.11"), up: false)
                try await reconciler.apply(try sampleState().applying(.removeVIP(v6), limits: testLimits)
                    .applying(.addVIP(ServiceSpec(vip: vip("10.0.0.30:80/tcp"), backends: [backend("192.0.2.30")])),
                              limits: testLimits))
                datapath.failNext(afterApplying: afterApplying, where: matches)
                do {
                    try await reconciler.apply(target)
                } catch {
                    XCTAssertTrue("\(error)".hasPrefix("datapath write failed: "), "\(error)")
                }
                try await reconciler.reconcile()
                XCTAssertEqual(datapath.violations, [], "\(name) after applying: \(afterApplying)")
                for service in target.sortedServices {
                    for slot in stride(from: 0, to: 1009, by: 7) {
                        XCTAssertEqual(datapath.route(service.vip, slot: slot), reference.route(service.vip, slot: slot),
                                       "\(name) \(afterApplying) \(service.vip) slot \(slot)")
                    }
                }
                let datapathBackends = (1..<17).compactMap { datapath.backend(index: $0).map { "\($0.address) \($0.up)" } }
                let referenceBackends = (1..<17).compactMap { reference.backend(index: $0).map { "\($0.address) \($0.up)" } }
                XCTAssertEqual(Set(datapathBackends), Set(referenceBackends), "\(name) \(afterApplying)")
                let stats = await reconciler.stats
                XCTAssertEqual(stats.failures, 1, "\(name) \(afterApplying)")
            }
        }
    }

    /// An entry write that flipped the ring in the kernel but reported failure: the next
    /// pass writes the entry again before touching any ring, so it never writes the live one.
    func testUncertainFlipIsRewrittenBeforeAnyRing() async throws {
        let (reconciler, datapath) = makeReconciler()
        try await reconciler.apply(state(ServiceSpec(vip: web, backends: [backend("192.0.2.11"), backend("192.0.2.12")])))
        datapath.failNext(afterApplying: true) { if case .installVIP = $0 { true } else { false } }
        do {
            try await reconciler.setHealth(ip("192.0.2.12"), up: false)
            XCTFail("the injected failure did not surface")
        } catch {
            XCTAssertEqual("\(error)", "datapath write failed: install VIP 10.0.0.10:80/tcp (index 0): injected failure: "
                + "installVIP 10.0.0.10:80/tcp index 0 ring 0 gen 1 flags 0")
        }
        datapath.clearLog()
        try await reconciler.setHealth(ip("192.0.2.13"), up: false)
        XCTAssertEqual(datapath.log.map(\.description), [
            "installVIP 10.0.0.10:80/tcp index 0 ring 0 gen 1 flags 0",
            "setBackend 2 192.0.2.12 down",
        ])
        assertClean(datapath)
    }

    // MARK: Many changes

    /// Random edits and health changes: after every pass the maps route every slot of
    /// every VIP exactly as the Maglev table of its eligible backends says, and the
    /// datapath's checks never fire.
    func testRandomChangesKeepTheMapsExact() async throws {
        let (reconciler, datapath) = makeReconciler(quarantine: .zero)
        var random = SplitMix64(seed: 7)
        let vips = (0..<4).map { vip("10.0.1.\($0):80/tcp") }
        let addresses = (1...8).map { ip("192.0.2.\($0)") }
        var desired = DesiredState()
        var down = Set<BackendRef>()
        for step in 0..<150 {
            let address = addresses.randomElement(using: &random) ?? addresses[0]
            let target = vips.randomElement(using: &random) ?? vips[0]
            let ref = BackendRef(vip: target, address: address)
            switch Int.random(in: 0..<8, using: &random) {
            case 0 where desired.services[target]?.backend(address) != nil:
                // One service's check.
                try await reconciler.setHealth([ref: down.contains(ref)])
                if down.contains(ref) { down.remove(ref) } else { down.insert(ref) }
            case 7:
                // Every service's check of the address.
                let up = Bool.random(using: &random)
                try await reconciler.setHealth(address, up: up)
                for service in desired.services.values where service.backend(address) != nil {
                    let ref = BackendRef(vip: service.vip, address: address)
                    if up { down.remove(ref) } else { down.insert(ref) }
                }
            case 1 where desired.services[target] == nil:
                desired = try desired.applying(.addVIP(ServiceSpec(vip: target, hash: Bool.random(using: &random) ? .source : .fiveTuple)),
                                               limits: testLimits)
            case 2 where desired.services.count > 2 && desired.services[target] != nil:
                desired = try desired.applying(.removeVIP(target), limits: testLimits)
            default:
                if let service = desired.services[target] {
                    let edit: Edit = if service.backend(address) == nil {
                        .addBackend(target, BackendSpec(address: address, weight: Int.random(in: 0...300, using: &random)))
                    } else {
                        [.removeBackend(target, address), .drain(address, vip: target), .undrain(address, vip: target),
                         .setWeight(target, address, weight: Int.random(in: 1...500, using: &random))][Int.random(in: 0..<4, using: &random)]
                    }
                    desired = try desired.applying(edit, limits: testLimits)
                }
            }
            try await reconciler.apply(desired)
            // As the reconciler does: health of a backend its service no longer has is forgotten.
            down = down.filter { desired.services[$0.vip]?.backend($0.address) != nil }
            XCTAssertEqual(datapath.violations, [], "step \(step)")
            for service in desired.sortedServices {
                let eligible = service.backends.filter {
                    !$0.drained && $0.weight > 0 && !down.contains(BackendRef(vip: service.vip, address: $0.address))
                }
                guard !eligible.isEmpty else {
                    XCTAssertNil(datapath.route(service.vip, slot: 0), "step \(step)")
                    continue
                }
                let table = try MaglevTable(backends: eligible.map { try MaglevBackend(id: $0.address.identity,
                                                                                        weight: $0.weight) },
                                            size: 1009)
                for slot in 0..<1009 {
                    let expected = table.backend(atSlot: slot).flatMap { IPAddress(bytes: $0.id.suffix(4)) }
                    guard datapath.route(service.vip, slot: slot) == expected else {
                        return XCTFail("step \(step): \(service.vip) slot \(slot)")
                    }
                }
            }
        }
        let stats = await reconciler.stats
        XCTAssertEqual(stats.failures, 0)
        XCTAssertGreaterThan(stats.mapWrites, 0)
    }
}
