import Balancer
import Daemon
import Foundation
import LBDAPI
import HealthCheck
import TestDoubles
import XCTest

/// A VIP in panic says so on lbd's side: `/v1/status` (state `panic`, `panic`,
/// `panic_threshold`, the backends up by their checks, every backend in the ring) and
/// `/metrics` (`lbd_vip_panic` 1).
final class PanicStatusTests: XCTestCase {
    func testAVIPInPanicShowsInTheStatusAndTheMetrics() async throws {
        let harness = try await APIHarness(self, services: """
            services:
              - vip: 10.0.0.10:80/tcp
                health_check: { type: tcp, start_state: up, panic_threshold: 60 }
                backends: [ { address: 192.0.2.11 }, { address: 192.0.2.12 }, { address: 192.0.2.13 } ]
            """)
        let web = try VIPKey("10.0.0.10:80/tcp")
        let collector = MetricsCollector(
            events: ControlPlaneMetrics(), coordinator: harness.coordinator, reconciler: harness.reconciler,
            health: HealthSupervisor(monitor: HealthMonitor(), reconciler: harness.reconciler),
            readings: InMemoryDatapathReadings(datapath: harness.datapath))
        // 2 of 3 up: 67 %, above 60 %.
        try await harness.reconciler.setHealth([BackendRef(vip: web, address: try IPAddress("192.0.2.11")): false])
        var service = try await statusOfTheVIP(harness)
        XCTAssertEqual(service["state"] as? String, "ok")
        XCTAssertEqual(service["panic"] as? Bool, false)
        let calm = try await scrape(collector)
        XCTAssertTrue(calm.contains(#"lbd_vip_panic{vip="10.0.0.10:80/tcp"} 0"#), calm)

        // 1 of 3: 33 %, below: every backend takes new flows.
        try await harness.reconciler.setHealth([BackendRef(vip: web, address: try IPAddress("192.0.2.12")): false])
        service = try await statusOfTheVIP(harness)
        XCTAssertEqual(service["state"] as? String, "panic")
        XCTAssertEqual(service["panic"] as? Bool, true)
        XCTAssertEqual(service["panic_threshold"] as? Int, 60)
        XCTAssertEqual(service["backends_up"] as? Int, 1)
        let slots = (service["backends"] as? [[String: Any]] ?? []).map { $0["ring_slots"] as? Int ?? 0 }
        XCTAssertEqual(slots.count, 3)
        XCTAssertTrue(slots.allSatisfy { $0 > 0 }, "\(slots)")
        let metrics = try await scrape(collector)
        XCTAssertTrue(metrics.contains(#"lbd_vip_panic{vip="10.0.0.10:80/tcp"} 1"#), metrics)
        XCTAssertTrue(metrics.contains(#"lbd_vip_panic_threshold{vip="10.0.0.10:80/tcp"} 60"#), metrics)
        XCTAssertTrue(metrics.contains(#"lbd_vip_backends_up{vip="10.0.0.10:80/tcp"} 1"#), metrics)
        try await harness.stop()
    }

    private func statusOfTheVIP(_ harness: APIHarness) async throws -> [String: Any] {
        let response = try await harness.client().send(.get("/v1/status"))
        XCTAssertEqual(response.status, 200)
        return try XCTUnwrap((try json(response.body)["services"] as? [[String: Any]])?.first)
    }

    private func scrape(_ collector: MetricsCollector) async throws -> String {
        String(decoding: try await collector.scrape(), as: UTF8.self)
    }
}
