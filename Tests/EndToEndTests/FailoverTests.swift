import Foundation
import LBDAPI
import TestSupport
import XCTest

/// A backend dies while a client opens connections back to back and another holds a
/// keep-alive connection to a healthy backend: once the health checker has taken the dead
/// one out, no new connection lands on it or fails, and the open connection never notices.
/// When it comes back, the checker puts it back and new connections reach it again.
final class FailoverTests: XCTestCase {
    /// Out after 2 failures, in after 2 successes. The timeout is far above loopback's
    /// answer time, so a loaded machine does not time out a healthy backend (the drill's
    /// 200 ms / 100 ms and its failover times are `make bench-health`'s).
    private static let check = "{ type: http, interval: 500ms, timeout: 400ms, rise: 2, fall: 2, start_state: down }"

    func testADeadBackendGetsNoNewConnectionsAndComesBackWhenItRecovers() async throws {
        let topology = try Topology(self, backends: 3)
        let vip = try topology.value("VIP4")
        let addresses = try (1...3).map { try topology.backendAddress($0, .v4) }
        let service = Service(vip, port: try topology.httpPort, "tcp",
                              backends: addresses.map { ($0, 100) }, healthCheck: Self.check)
        let lbd = try await LBD(self, on: topology, services: [service])
        try await waitForHealth(lbd, service, addresses.map { ($0, "up") })

        let session = try InteractiveClient(self, topology, ["session", topology.url(vip)])
        let kept = try answer(session.ask())
        let victim = try XCTUnwrap((1...3).first { topology.backendName($0) != kept })
        let victimName = topology.backendName(victim)
        let stream = try InteractiveClient(self, topology, ["stream", topology.url(vip)])
        _ = try waitForAnswers(stream, atLeast: 50)

        try topology.serverStop(victim)
        try await waitForHealth(lbd, service, [(addresses[victim - 1], "down")])
        let afterFailover = try Tally.decode(stream.ask())
        let whileDown = try waitForAnswers(stream, atLeast: total(afterFailover) + 150)
        XCTAssertEqual(whileDown.answers[victimName], afterFailover.answers[victimName],
                       "no new connection lands on \(victimName) once it is out: \(afterFailover) then \(whileDown)")
        XCTAssertEqual(whileDown.errors, afterFailover.errors, "no new connection fails once \(victimName) is out")
        XCTAssertEqual(try answer(session.ask()), kept, "the keep-alive connection to \(kept) is unaffected")

        try topology.serverStart(victim)
        try await waitForHealth(lbd, service, [(addresses[victim - 1], "up")])
        let afterRecovery = try Tally.decode(stream.ask())
        let whileUp = try waitForAnswers(stream, atLeast: total(afterRecovery) + 150)
        XCTAssertGreaterThan(whileUp.answers[victimName, default: 0], afterRecovery.answers[victimName, default: 0],
                             "new connections reach \(victimName) again once it is back: \(afterRecovery) then \(whileUp)")
        XCTAssertEqual(whileUp.errors, afterRecovery.errors, "no connection fails when \(victimName) comes back")
        XCTAssertEqual(try answer(session.ask()), kept)
        XCTAssertEqual(try session.finish(), [])
        _ = try stream.finish()
    }

    /// Polls `lbctl status` until every backend named has the health given and a share of
    /// the ring that matches it (the reconciler has written the ring). Bounded generously:
    /// the failover time itself is measured by `make bench-health`, not asserted here.
    private func waitForHealth(_ lbd: LBD, _ service: Service, _ wanted: [(address: String, health: String)]) async throws {
        try await waitFor("backends reaching \(wanted): \((try? lbd.status().backends(of: service.vip)) ?? [])\n\(lbd.output)",
                          within: .seconds(20), every: .milliseconds(20)) {
            let backends = try lbd.status().backends(of: service.vip)
            return wanted.allSatisfy { want in
                backends.contains { $0.address == want.address && $0.health == want.health && ($0.ringSlots > 0) == (want.health == "up") }
            }
        }
    }

    /// Asks the stream for its totals until at least `count` connections ended (answered or
    /// failed); the totals then.
    private func waitForAnswers(_ stream: InteractiveClient, atLeast count: Int) throws -> Tally {
        var tally = Tally(answers: [:])
        try waitForBlocking("\(count) connections ended", within: .seconds(30), every: .milliseconds(10)) {
            tally = try Tally.decode(stream.ask())
            return total(tally) >= count
        }
        return tally
    }

    private func total(_ tally: Tally) -> Int {
        tally.answers.values.reduce(0, +) + tally.errors.values.reduce(0, +)
    }

    /// The backend named by a session line ({"answer": "b1"}); a line with an error fails.
    private func answer(_ line: String) throws -> String {
        let fields = try JSONDecoder().decode([String: String].self, from: Data(line.utf8))
        return try XCTUnwrap(fields["answer"], "the session's request failed: \(line)")
    }
}
