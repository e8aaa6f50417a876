import Balancer
import Daemon
import Foundation
import XCTest

/// Edits through the coordinator: one at a time, saved before answered, a refusal or a
/// failed save changing nothing, a failed map write finished by the retry.
final class EditCoordinatorTests: XCTestCase {
    private var harness: APIHarness!

    override func setUp() async throws {
        harness = try await APIHarness(self, services: """
            services:
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.11 } ]
            """)
    }

    override func tearDown() async throws {
        try await harness?.stop()
        harness = nil
    }

    private let vip = try! VIPKey("10.0.0.10:80/tcp")

    /// Concurrent edits all land, and the file, the coordinator and the maps agree.
    func testConcurrentEditsAreSerialised() async throws {
        let coordinator = harness.coordinator, vip = vip
        try await withThrowingTaskGroup(of: Void.self) { group in
            for host in 20..<29 {
                group.addTask {
                    try await coordinator.edit(.addBackend(vip, BackendSpec(address: try IPAddress("192.0.2.\(host)"))))
                    try await coordinator.edit(.setWeight(vip, try IPAddress("192.0.2.\(host)"), weight: host))
                }
            }
            try await group.waitForAll()
        }
        let state = await coordinator.state
        XCTAssertEqual(state.services[vip]?.backends.count, 10)
        XCTAssertEqual(try DesiredState(json: try harness.stateFile, limits: APIHarness.limits), state)
        let active = await harness.reconciler.snapshot().vips.first?.activeBackends
        XCTAssertEqual(active, state.services[vip]?.backends.map(\.address).sorted())
        XCTAssertEqual(harness.datapath.violations, [])
    }

    func testAFailedSaveChangesNothing() async throws {
        let before = try harness.stateFile
        // The state directory becomes a file's path: the temporary file cannot be created.
        let directory = harness.store.directory
        try FileManager.default.moveItem(atPath: directory, toPath: directory + ".moved")
        try Data().write(to: URL(fileURLWithPath: directory))
        harness.datapath.clearLog()
        do {
            try await harness.coordinator.edit(.removeVIP(vip))
            XCTFail("saved into a file")
        } catch {
            guard case .notSaved = error else { return XCTFail("\(error)") }
        }
        let state = await harness.coordinator.state
        XCTAssertNotNil(state.services[vip])
        XCTAssertEqual(harness.datapath.log, [])
        try FileManager.default.removeItem(atPath: directory)
        try FileManager.default.moveItem(atPath: directory + ".moved", toPath: directory)
        XCTAssertEqual(try harness.stateFile, before)
    }

    func testAFailedMapWriteIsSavedAndRetried() async throws {
        harness.datapath.failNext { if case .writeRing = $0 { true } else { false } }
        let added = BackendSpec(address: try IPAddress("192.0.2.12"))
        do {
            try await harness.coordinator.edit(.addBackend(vip, added))
            XCTFail("the write failure was not reported")
        } catch {
            guard case .notApplied = error else { return XCTFail("\(error)") }
        }
        let saved = try DesiredState(json: try harness.stateFile, limits: APIHarness.limits)
        XCTAssertEqual(saved.services[vip]?.backends.last, added, "saved before the maps")
        let pending = await harness.coordinator.reconcilePending
        XCTAssertTrue(pending)
        let done = await harness.coordinator.retryReconcile()
        XCTAssertTrue(done)
        let active = await harness.reconciler.snapshot().vips.first?.activeBackends
        XCTAssertEqual(active, [try IPAddress("192.0.2.11"), try IPAddress("192.0.2.12")])
    }

    func testLimitsThatTheStateNeedsCannotBeWithdrawn() async throws {
        var limits = APIHarness.limits
        limits.backendFamilies = [.v6]
        do {
            try await harness.coordinator.setLimits(limits)
            XCTFail("IPv4 backends without an IPv4 encapsulation source")
        } catch {}
        let kept = await harness.coordinator.limits
        XCTAssertEqual(kept, APIHarness.limits)
        limits.backendFamilies = [.v4, .v6]
        try await harness.coordinator.setLimits(limits)
        try await harness.coordinator.edit(.addBackend(vip, BackendSpec(address: try IPAddress("2001:db8::1"))))
    }
}
