import Foundation
import TestSupport
import XCTest

/// `lbctl backend drain VIP ADDRESS --wait` on the real datapath: it returns when the
/// backend's last flow in the VIP has ended (the client's FIN), or has idled out.
final class FinishingDrainTests: XCTestCase {
    /// The answers of a `client.py close` run, and when its last connection closed.
    private struct Closed: Decodable {
        var answers: [String: Int]
        var errors: [String: Int]
        var last_closed: Double?
    }

    /// b1 alone serves 500 keep-alive connections; b2 joins and b1 is drained with
    /// --wait; new connections go to b2 while the 500 stay on b1 and then close one after
    /// the other over 2 s, each with a last request. None is reset or moved, and the drain
    /// is reported after the last closed, within a second of it.
    func testFiveHundredConnectionsDrainWithoutResetAndTheDrainIsReportedAsTheLastCloses() async throws {
        let topology = try Topology(self, backends: 2)
        let vip = try topology.value("VIP4"), url = try topology.url(try topology.value("VIP4"))
        let b1 = try topology.backendAddress(1, .v4), b2 = try topology.backendAddress(2, .v4)
        let service = Service(vip, port: try topology.httpPort, "tcp", backends: [(b1, 100)])
        let lbd = try await LBD(self, on: topology, services: [service])
        let connections = try InteractiveClient(self, topology, ["close", "500", url])
        XCTAssertEqual(try Tally.decode(connections.ask()), Tally(answers: ["b1": 500]))
        try lbd.lbctl("backend", "add", service.vip, b2)
        try await waitForActiveFlows(lbd, service.vip, [500, 0])

        let drain = try lbd.lbctlInBackground("backend", "drain", service.vip, b1, "--wait", "--timeout", "60s")
        XCTAssertEqual(try topology.http(count: 20, url), Tally(answers: ["b2": 20]), "new connections avoid b1")
        let closed = try JSONDecoder().decode(Closed.self, from: Data(try connections.ask("2").utf8))
        let (output, exitedAt) = try drain.finish()

        XCTAssertEqual(closed.answers, ["b1": 500], "every connection answered to its end by b1")
        XCTAssertEqual(closed.errors, [:], "no reset, no timeout")
        XCTAssertEqual(output.status, 0, output.stderr)
        let lines = output.stdout.split(separator: "\n")
        XCTAssertEqual(lines.first, "drained \(b1) in \(service.vip)")
        XCTAssertNotNil(lines.last?.wholeMatch(of: /no active flow left on [0-9.]+ in [0-9.:]+\/tcp after \d+\.\ds/),
                        output.stdout)
        let lastClosed = Date(timeIntervalSince1970: try XCTUnwrap(closed.last_closed))
        let reportedAfter = exitedAt.timeIntervalSince(lastClosed)
        XCTAssertGreaterThan(reportedAfter, 0, "drained is never reported while a flow is open")
        XCTAssertLessThan(reportedAfter, 1, "drained is reported within a second of the last close")
        XCTAssertEqual(try lbd.status().backends(of: service.vip).map(\.activeFlows), [0, 0])
        XCTAssertEqual(try connections.finish(), [])
    }

    /// lbd counts flows at most every 0.5 s: a status may show an older count for that long.
    private func waitForActiveFlows(_ lbd: LBD, _ vip: String, _ expected: [Int?]) async throws {
        try await waitFor("active flows \(expected): \((try? lbd.status().backends(of: vip).map(\.activeFlows)) ?? [])",
                          within: .seconds(10), every: .milliseconds(100)) {
            try lbd.status().backends(of: vip).map(\.activeFlows) == expected
        }
    }

    /// Connections that stay open but idle keep a drained backend busy until the TCP idle
    /// timeout (5 s here) ends their entries; then the drain is reported.
    func testADrainedBackendWithIdleFlowsIsReportedDrainedAfterTheIdleTimeout() async throws {
        let topology = try Topology(self, backends: 2)
        let vip = try topology.value("VIP4"), url = try topology.url(try topology.value("VIP4"))
        let b1 = try topology.backendAddress(1, .v4), b2 = try topology.backendAddress(2, .v4)
        let service = Service(vip, port: try topology.httpPort, "tcp", backends: [(b1, 100)])
        let lbd = try await LBD(self, on: topology, services: [service], settings: "tcp_idle_timeout: 5s")
        let connections = try InteractiveClient(self, topology, ["close", "20", url])
        XCTAssertEqual(try Tally.decode(connections.ask()), Tally(answers: ["b1": 20]))
        let lastPackets = Date()
        try lbd.lbctl("backend", "add", service.vip, b2)
        try await waitForActiveFlows(lbd, service.vip, [20, 0])

        let output = try lbd.lbctl("backend", "drain", service.vip, b1, "--wait", "--timeout", "60s")
        XCTAssertNotNil(output.firstMatch(of: /no active flow left on [0-9.]+ in [0-9.:]+\/tcp after \d+\.\ds/), output)
        // An entry's time is refreshed at most every second (LB_FLOW_REFRESH_NS): it may
        // idle out up to 1 s before 5 s have passed since its flow's last packet.
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(lastPackets), 4, "drained only once the flows idled out")
        let status = try lbd.status().backends(of: service.vip)
        XCTAssertEqual(status.map(\.activeFlows), [0, 0])
        XCTAssertEqual(status.map(\.closingFlows), [0, 0])
    }
}
