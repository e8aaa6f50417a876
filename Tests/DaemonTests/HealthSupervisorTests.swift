import Balancer
import Daemon
import Foundation
import HealthCheck
import XCTest

/// The supervisor between the checks and the reconciler, with a scripted prober: the
/// state's checked backends are subscribed (once per distinct target), their verdicts
/// reach the reconciler, and edits subscribe and unsubscribe exactly what changed.
final class HealthSupervisorTests: XCTestCase {
    /// Success for the addresses in `up`, refused for the others, at once.
    private struct ScriptedProber: Prober {
        let up: Set<String>

        func probe(_ target: HealthTarget) async -> ProbeResult {
            ProbeResult(up.contains(target.address) ? .success(.connected) : .failure(.connectionRefused),
                        latency: .milliseconds(1), at: Date())
        }
    }

    private let web = try! VIPKey("10.0.0.10:80/tcp"), api = try! VIPKey("10.0.0.11:80/tcp")
    private let limits = Limits(maxVIPs: 8, maxBackends: 16, ringSize: 1009, connectionTable: 1000)

    private func service(_ vip: VIPKey, _ addresses: [String], checked: Bool = true) throws -> ServiceSpec {
        let check = try ServiceHealthCheck(check: HealthCheckDefinition(
            type: .tcp, interval: .milliseconds(50), timeout: .milliseconds(20), rise: 1, fall: 1, jitter: 0))
        return ServiceSpec(vip: vip, backends: try addresses.map { BackendSpec(address: try IPAddress($0)) },
                           healthCheck: checked ? check : nil)
    }

    private func waitFor(_ what: String, _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while await !condition() {
            guard ContinuousClock.now < deadline else { return XCTFail("\(what): not within 10 s") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    func testVerdictsReachTheReconcilerAndEditsResubscribe() async throws {
        let reconciler = Reconciler(writer: InMemoryDatapath(limits: limits), limits: limits)
        let monitor = HealthMonitor(prober: ScriptedProber(up: ["192.0.2.11"]))
        let supervisor = HealthSupervisor(monitor: monitor, reconciler: reconciler)
        let running = Task { try await supervisor.run() }
        defer { running.cancel() }
        let down = BackendRef(vip: web, address: try IPAddress("192.0.2.12"))

        // Two VIPs share 192.0.2.11:80 over TCP: one checker for it.
        var state = try DesiredState(validating: [try service(web, ["192.0.2.11", "192.0.2.12"]),
                                                  try service(api, ["192.0.2.11"])], limits: limits)
        try await reconciler.apply(state)
        await supervisor.sync(state)
        try await waitFor("192.0.2.11 up, 192.0.2.12 still down") { await reconciler.unhealthyBackends() == [down] }
        let targets = await monitor.statuses().map(\.target.description)
        XCTAssertEqual(targets, ["192.0.2.11:80 tcp", "192.0.2.12:80 tcp"])

        // The down backend removed: its checker goes, its health is forgotten.
        state = try DesiredState(validating: [try service(web, ["192.0.2.11"]), try service(api, ["192.0.2.11"])],
                                 limits: limits)
        try await reconciler.apply(state)
        await supervisor.sync(state)
        let afterRemoval = await monitor.statuses().map(\.target.description)
        XCTAssertEqual(afterRemoval, ["192.0.2.11:80 tcp"])
        let unhealthy = await reconciler.unhealthyBackends()
        XCTAssertEqual(unhealthy, [])

        // One VIP's check removed: the shared checker stays for the other.
        state = try DesiredState(validating: [try service(web, ["192.0.2.11"], checked: false),
                                              try service(api, ["192.0.2.11"])], limits: limits)
        await supervisor.sync(state)
        let subscribers: [Set<String>] = await monitor.statuses().map(\.subscribers)
        XCTAssertEqual(subscribers, [[api.description]])
    }
}
