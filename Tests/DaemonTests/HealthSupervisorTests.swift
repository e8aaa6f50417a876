import Balancer
import Daemon
import Foundation
import HealthCheck
import TestDoubles
import TestSupport
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
            type: .tcp, interval: .milliseconds(50), timeout: .milliseconds(20), rise: 1, fall: 1, jitter: 0, via: .direct))
        return ServiceSpec(vip: vip, backends: try addresses.map { BackendSpec(address: try IPAddress($0)) },
                           healthCheck: checked ? check : nil)
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

    /// Events the supervisor did not read in time are dropped by the monitor (a buffer
    /// of one here, for 60 backends coming up at once): the supervisor resynchronises
    /// from the checks' states, so every backend that is up reaches the reconciler.
    func testDroppedEventsAreFollowedByAResync() async throws {
        let addresses = (1...60).map { "192.0.2.\($0)" }
        let limits = Limits(maxVIPs: 8, maxBackends: 64, ringSize: 7001, connectionTable: 1000)
        let reconciler = Reconciler(writer: InMemoryDatapath(limits: limits), limits: limits)
        let monitor = HealthMonitor(prober: ScriptedProber(up: Set(addresses)), eventBuffer: 1)
        let supervisor = HealthSupervisor(monitor: monitor, reconciler: reconciler)
        let state = try DesiredState(validating: [try service(web, addresses)], limits: limits)
        try await reconciler.apply(state)
        await supervisor.sync(state)
        let startedDown = await reconciler.unhealthyBackends().count
        XCTAssertEqual(startedDown, 60)
        let running = Task { try await supervisor.run() }
        defer { running.cancel() }
        try await waitFor("every check up") { await monitor.statuses().allSatisfy { $0.status == .up } }
        let dropped = await monitor.droppedEvents
        XCTAssertGreaterThan(dropped, 0, "no event was dropped: the test did not exercise the resync")
        try await waitFor("every backend up in the reconciler") { await reconciler.unhealthyBackends().isEmpty }
        let left = await reconciler.unhealthyBackends().map(\.address.description).sorted()
        XCTAssertEqual(left, [], "\(dropped) events dropped")
    }
}
