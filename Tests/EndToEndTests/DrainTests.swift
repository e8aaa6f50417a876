import Foundation
import XCTest

/// Draining a backend: its open connections keep working, new connections avoid it.
final class DrainTests: XCTestCase {
    func testADrainedBackendKeepsItsOpenConnectionAndGetsNoNewOnes() async throws {
        let topology = try Topology(self, backends: 2)
        let vip = try topology.value("VIP4")
        let service = Service(vip, port: try topology.httpPort, "tcp",
                              backends: [(try topology.backendAddress(1, .v4), 100), (try topology.backendAddress(2, .v4), 100)])
        let lbd = try await LBD(self, on: topology, services: [service])
        let session = try InteractiveClient(self, topology, ["session", topology.url(vip)])
        let drained = try answer(session.ask())
        let drainedIndex = drained == topology.backendName(1) ? 1 : 2
        let other = topology.backendName(3 - drainedIndex)

        try lbd.lbctl("backend", "drain", service.vip, topology.backendAddress(drainedIndex, .v4))
        XCTAssertEqual(try lbd.status().backends(of: service.vip).filter(\.drained).map(\.address),
                       [try topology.backendAddress(drainedIndex, .v4)])
        XCTAssertEqual(try answer(session.ask()), drained, "the open connection stays on the drained backend")
        XCTAssertEqual(try topology.http(count: 100, topology.url(vip)), Tally(answers: [other: 100]),
                       "new connections avoid the drained backend")
        XCTAssertEqual(try answer(session.ask()), drained, "the open connection still works after new ones")
        XCTAssertEqual(try session.finish(), [])
    }

    /// The backend named by a session line ({"answer": "b1"}); a line with an error fails.
    private func answer(_ line: String) throws -> String {
        let fields = try JSONDecoder().decode([String: String].self, from: Data(line.utf8))
        return try XCTUnwrap(fields["answer"], "the session's request failed: \(line)")
    }
}
