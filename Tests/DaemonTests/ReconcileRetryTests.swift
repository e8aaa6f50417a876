import Balancer
@testable import Daemon
import Foundation
import LBDAPI
import Logging
import ServiceLifecycle
import TestSupport
import XCTest

/// An edit the maps refuse after it was saved is answered 500, and the retry service
/// (every second, as lbd runs it) brings the maps to the saved state without another
/// edit.
final class ReconcileRetryTests: XCTestCase {
    func testA500IsFinishedByTheRetryEverySecond() async throws {
        let harness = try await APIHarness(self, services: "services:\n  - vip: 10.0.0.10:80/tcp\n    backends: []\n")
        let web = try VIPKey("10.0.0.10:80/tcp")
        harness.datapath.failNext { if case .writeRing = $0 { true } else { false } }
        let response = try await harness.client().send(
            .post("/v1/edit", json: #"{"op":"add_backend","vip":"10.0.0.10:80/tcp","address":"192.0.2.11"}"#))
        XCTAssertEqual(response.status, 500)
        XCTAssertEqual(try json(response.body)["error"] as? String,
                       "saved, but the datapath is not up to date yet (retrying): datapath write failed: ring 1 of VIP 10.0.0.10:80/tcp "
                           + "(index 0, 1009 slots): injected failure: writeRing vip 0 ring 1 all")
        let saved = try DesiredState(json: try harness.stateFile, limits: APIHarness.limits)
        XCTAssertEqual(saved.services[web]?.backends.map(\.address.description), ["192.0.2.11"], "the edit was saved")
        XCTAssertNil(harness.datapath.route(web, slot: 0), "the failed pass routed the VIP")

        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let retry = ServiceGroup(services: [ReconcileRetryService(coordinator: harness.coordinator)], logger: logger)
        let running = Task { try await retry.run() }
        // Timed out or not, the service stops before the assertion says which.
        try? await waitFor("the write retried", every: .milliseconds(50)) { harness.datapath.route(web, slot: 0) != nil }
        await retry.triggerGracefulShutdown()
        try await running.value
        XCTAssertEqual(harness.datapath.route(web, slot: 0), try IPAddress("192.0.2.11"), "not retried within 10 s")
        let pending = await harness.coordinator.reconcilePending
        XCTAssertFalse(pending)
        XCTAssertEqual(harness.datapath.violations, [])
        try await harness.stop()
    }
}
