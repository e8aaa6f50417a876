import Balancer
import Daemon
import Datapath
import Foundation
import LBDAPI
import TestSupport
import XCTest

/// The real lbd checking real HTTP servers: a backend whose server dies leaves the VIP's
/// ring (read back from the pinned maps) with the reason in the status, and comes back
/// once its server does; a backend without a check stays in. Servers are python's
/// http.server on addresses of the namespace's loopback, where lbd's checks reach them.
final class HealthCheckWiringTests: XCTestCase {
    private var sandbox: DaemonSandbox!
    private var servers: [String: Process] = [:]

    override func setUpWithError() throws {
        sandbox = try DaemonSandbox(self)
        // SIGKILL: processes started from the test runner inherit its blocked signals.
        addTeardownBlock { [self] in for server in servers.values where server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        for address in ["192.0.2.11", "192.0.2.12", "192.0.2.13"] {
            try shell("ip", "-n", sandbox.network.namespace, "addr", "add", "\(address)/32", "dev", "lo")
        }
    }

    /// An HTTP server answering 200 on `address`:8080 in the namespace, once it listens.
    private func startServer(_ address: String) async throws {
        servers[address] = try startLogged(["nsenter", "--net=/run/netns/\(sandbox.network.namespace)", "python3", "-m",
                                            "http.server", "--bind", address, "--directory", sandbox.directory, "8080"],
                                           log: sandbox.directory + "/server-\(address).log")
        try await waitFor("python's http.server listening on \(address):8080", timeout: .seconds(60)) {
            try shell("ip", "netns", "exec", sandbox.network.namespace, "ss", "-Htln").contains("\(address):8080")
        }
    }

    private func stopServer(_ address: String) {
        guard let server = servers.removeValue(forKey: address) else { return }
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
    }

    /// lbd serving 10.0.0.10:80/tcp with .11 and .12 checked (`check`) and .13 not.
    private func startDaemon(check: String = "interval: 200ms, timeout: 100ms, rise: 2, fall: 2")
        async throws -> DaemonProcess {
        try await sandbox.startDaemon(services: """
                                - vip: 10.0.0.10:80/tcp
                                  health_check: { type: http, port: 8080, via: direct, \(check) }
                                  backends:
                                    - address: 192.0.2.11
                                    - address: 192.0.2.12
                                    - { address: 192.0.2.13, health_check: { type: none } }
                              """)
    }

    /// Backend address → (health, last check, slots of the live ring), from /v1/status.
    private func backends() async throws -> [String: (health: String, lastCheck: String?, slots: Int)] {
        let response = try await LBDClient(socketPath: sandbox.socket).send(.get("/v1/status"))
        let status = try json(response.body)
        let service = try XCTUnwrap((status["services"] as? [[String: Any]])?.first)
        var result: [String: (health: String, lastCheck: String?, slots: Int)] = [:]
        for backend in service["backends"] as? [[String: Any]] ?? [] {
            result[backend["address"] as? String ?? ""] = (backend["health"] as? String ?? "", backend["last_check"] as? String,
                                                          backend["ring_slots"] as? Int ?? -1)
        }
        return result
    }

    /// The backends the VIP's live ring names, read from the pinned maps.
    private func liveRingAddresses(_ datapath: BalancerDatapath) throws -> Set<String> {
        let installed = try InstalledStateReader.read(datapath)
        guard let vip = installed.vips.first(where: { $0.key.description == "10.0.0.10:80/tcp" }),
              !vip.info.flags.contains(.noBackend) else { return [] }
        let addresses = Dictionary(installed.backends.map { ($0.index, $0.address.description) }) { first, _ in first }
        return Set(Set(vip.liveSlots).compactMap { addresses[$0] })
    }

    /// TestSupport's `waitFor`, with lbd's status and log when it times out.
    private func waitFor(_ what: String, timeout: Duration = .seconds(20), _ condition: () throws -> Bool) async throws {
        do {
            try await TestSupport.waitFor(what, within: timeout, condition)
        } catch let timedOut as TimedOut {
            let log = (try? String(contentsOfFile: sandbox.directory + "/lbd.log", encoding: .utf8)) ?? ""
            let status = (try? await LBDClient(socketPath: sandbox.socket).send(.get("/v1/status")).text) ?? ""
            throw DaemonProcess.Failure("\(timedOut); status: \(status)\nlbd's log:\n\(log.suffix(3000))")
        }
    }

    func testAKilledBackendLeavesTheRingAndComesBack() async throws {
        try await startServer("192.0.2.11")
        try await startServer("192.0.2.12")
        let daemon = try await startDaemon()
        let datapath = try sandbox.openPins()
        let all: Set<String> = ["192.0.2.11", "192.0.2.12", "192.0.2.13"]
        try await waitFor("both checked backends up") { try liveRingAddresses(datapath) == all }
        let up = try await backends()
        XCTAssertEqual(up["192.0.2.11"]?.health, "up")
        XCTAssertEqual(up["192.0.2.11"]?.lastCheck, "status 200")
        XCTAssertEqual(up["192.0.2.13"]?.health, "unchecked")

        stopServer("192.0.2.12")
        try await waitFor("192.0.2.12 out of the ring") { try liveRingAddresses(datapath) == all.subtracting(["192.0.2.12"]) }
        let down = try await backends()["192.0.2.12"]
        XCTAssertEqual(down?.health, "down")
        XCTAssertEqual(down?.lastCheck, "connection refused")
        XCTAssertEqual(down?.slots, 0)

        try await startServer("192.0.2.12")
        try await waitFor("192.0.2.12 back in the ring") { try liveRingAddresses(datapath) == all }
        let back = try await backends()
        XCTAssertEqual(back["192.0.2.12"]?.health, "up")
        let exitStatus = try await daemon.stop(SIGTERM)
        XCTAssertEqual(exitStatus, 0)
    }

    /// A restarted lbd keeps health (the real lbd, stopped and started again): a backend
    /// up before the restart stays in the ring although its check starts over and needs
    /// 10 passes (2 s) to rise, and one that never came up stays out. The status fields
    /// are lbd's own: `latency_ms` of the last check, `health_since` in ISO 8601.
    func testARestartedLBDKeepsHealth() async throws {
        try await startServer("192.0.2.11")
        let check = "interval: 200ms, timeout: 100ms, rise: 10, fall: 1"
        let startedAt = Date()
        var daemon = try await startDaemon(check: check)
        let datapath = try sandbox.openPins()
        try await waitFor("192.0.2.11 up after 10 checks") { try liveRingAddresses(datapath) == ["192.0.2.11", "192.0.2.13"] }

        let response = try await LBDClient(socketPath: sandbox.socket).send(.get("/v1/status"))
        let backends = try XCTUnwrap((try json(response.body)["services"] as? [[String: Any]])?.first?["backends"]
            as? [[String: Any]])
        let checked = try XCTUnwrap(backends.first { $0["address"] as? String == "192.0.2.11" })
        let latency = try XCTUnwrap(checked["latency_ms"] as? Double, "\(checked)")
        XCTAssertGreaterThan(latency, 0)
        XCTAssertLessThan(latency, 100, "a latency above the timeout")
        let since = try XCTUnwrap(checked["health_since"] as? String)
        let sinceDate = try XCTUnwrap(ISO8601DateFormatter().date(from: since), since)
        XCTAssertTrue((startedAt.addingTimeInterval(-1)...Date().addingTimeInterval(1)).contains(sinceDate), since)
        XCTAssertNotNil(checked["health_age_s"] as? Double)
        let unchecked = try XCTUnwrap(backends.first { $0["address"] as? String == "192.0.2.13" })
        XCTAssertTrue(unchecked["latency_ms"] is NSNull || unchecked["latency_ms"] == nil, "\(unchecked)")

        let stopped = try await daemon.stop(SIGTERM)
        XCTAssertEqual(stopped, 0)
        daemon = try await startDaemon(check: check)
        // Read at once: rising again from down would take 10 checks, 2 s.
        XCTAssertEqual(try liveRingAddresses(datapath), ["192.0.2.11", "192.0.2.13"], "the restart changed the ring")
        let after = try await self.backends()
        XCTAssertEqual(after["192.0.2.11"]?.health, "up")
        XCTAssertEqual(after["192.0.2.12"]?.health, "down")
        XCTAssertEqual(after["192.0.2.12"]?.slots, 0)
        let exitStatus = try await daemon.stop(SIGTERM)
        XCTAssertEqual(exitStatus, 0)
    }

    /// Panic with the real lbd (default threshold 50 %): one of the two checked backends
    /// down leaves 2 of 3 up and it out of the ring; both down leave 1 of 3, so every
    /// backend is back in the ring, and the status and the metrics say so.
    func testMostBackendsFailingPanicsTheVIP() async throws {
        try await startServer("192.0.2.11")
        try await startServer("192.0.2.12")
        let daemon = try await startDaemon()
        let datapath = try sandbox.openPins()
        let all: Set<String> = ["192.0.2.11", "192.0.2.12", "192.0.2.13"]
        try await waitFor("both checked backends up") { try liveRingAddresses(datapath) == all }

        stopServer("192.0.2.12")
        try await waitFor("192.0.2.12 out of the ring") { try liveRingAddresses(datapath) == all.subtracting(["192.0.2.12"]) }
        stopServer("192.0.2.11")
        try await waitFor("every backend back in the ring: the panic") { try liveRingAddresses(datapath) == all }
        let down = try await backends()
        XCTAssertEqual(down["192.0.2.11"]?.health, "down")
        XCTAssertEqual(down["192.0.2.12"]?.health, "down")
        let response = try await LBDClient(socketPath: sandbox.socket).send(.get("/v1/status"))
        let service = try XCTUnwrap((try json(response.body)["services"] as? [[String: Any]])?.first)
        XCTAssertEqual(service["state"] as? String, "panic")
        XCTAssertEqual(service["backends_up"] as? Int, 1)
        let metrics = try shell("ip", "netns", "exec", sandbox.network.namespace, "curl", "-s", "http://127.0.0.1:9750/metrics")
        XCTAssertTrue(metrics.contains(#"lbd_vip_panic{vip="10.0.0.10:80/tcp"} 1"#), metrics)
        let log = try String(contentsOfFile: sandbox.log, encoding: .utf8)
        XCTAssertTrue(log.contains("VIP in panic: too few backends pass their checks"), log)

        try await startServer("192.0.2.12")
        try await waitFor("192.0.2.12 up, the panic over") { try liveRingAddresses(datapath) == all.subtracting(["192.0.2.11"]) }
        let exitStatus = try await daemon.stop(SIGTERM)
        XCTAssertEqual(exitStatus, 0)
    }
}
