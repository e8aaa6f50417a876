import Foundation
import TestSupport
import XCTest

/// Two LB nodes, each with lbd and BIRD, the same services, behind a router spreading
/// flows over them by ECMP (`lbd-topology up --bird 2`). A flow the router moves to the
/// other node reaches the same backend there: the nodes' rings are identical, so the
/// other node, missing the flow in its connection table, hashes it to the same backend.
final class FleetTests: XCTestCase {
    /// What `hold` prints: the state of its long-lived connections.
    struct Held: Decodable {
        var connections: Int
        var answers: Int
        var broken: Int
        var backends: [String: Int]
        var errors: [String: Int]
        var maxGapMs: Int
    }

    private func decodeHeld(_ line: String) throws -> Held {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Held.self, from: Data(line.utf8))
    }

    private func fleet() async throws -> (Topology, [LBD], url: String) {
        let topology = try Topology(self, backends: 2, birdNodes: 2)
        let vip = try topology.value("VIP4")
        let services = [Service(vip, port: try topology.httpPort, "tcp",
                                backends: [(try topology.backendAddress(1, .v4), 100), (try topology.backendAddress(2, .v4), 100)])]
        var nodes: [LBD] = []
        for node in 1...2 {
            nodes.append(try await LBD(self, on: topology, node: node, services: services,
                                       announce: "announce_delay: 1s, drain_time: 2s"))
        }
        try await topology.waitForRouterRoutes([vip + "/32": [try topology.value("LB_IP4"), try topology.value("LB2_IP4")]])
        return (topology, nodes, try topology.url(vip))
    }

    /// Asks `hold` for its state until `done` holds (bounded: 60 s).
    private func waitForHeld(_ hold: InteractiveClient, _ what: String, until done: (Held) -> Bool) async throws -> Held {
        var held: Held?
        try await waitFor("\(what) (now: \((try? decodeHeld(hold.ask())).map { "\($0)" } ?? "no answer"))",
                          within: .seconds(60), every: .milliseconds(200)) {
            held = try decodeHeld(hold.ask())
            return done(held!)
        }
        return held!
    }

    func testANodeLostAbruptlyBreaksNoConnection() async throws {
        let (topology, nodes, url) = try await fleet()
        let hold = try InteractiveClient(self, topology, ["hold", "1000", url])
        let started = try await waitForHeld(hold, "every connection answered twice") { $0.answers >= 2000 }
        XCTAssertEqual(started.broken, 0, "\(started)")
        for (index, node) in nodes.enumerated() {
            XCTAssertGreaterThan(try node.status().services[0].packets, 0, "node \(index + 1) carries some connections")
        }
        _ = try hold.ask("reset-gap")
        try topology.linkDown("lb2")
        try await topology.waitForRouterRoutes([try topology.value("VIP4") + "/32": [try topology.value("LB_IP4")]])
        _ = try await waitForHeld(hold, "three more rounds") { $0.answers >= started.answers + 3000 }
        let held = try decodeHeld(XCTUnwrap(hold.finish().last))
        XCTAssertEqual(held.connections, 1000)
        XCTAssertEqual(held.broken, 0, "\(held)")
        XCTAssertEqual(held.errors, [:])
        print("fleet node_loss connections=\(held.connections) broken=\(held.broken) reroute_ms=\(held.maxGapMs)")
    }

    func testAGracefulStopUnderNewConnectionsFailsAndBreaksNone() async throws {
        let (topology, nodes, url) = try await fleet()
        let stream = try InteractiveClient(self, topology, ["stream", url])
        let hold = try InteractiveClient(self, topology, ["hold", "200", url])
        let started = try await waitForHeld(hold, "every connection answered twice") { $0.answers >= 400 }
        let stopping = try nodes[1].signal(SIGTERM)
        let reroute = try await topology.waitForRouterRoutes(
            [try topology.value("VIP4") + "/32": [try topology.value("LB_IP4")]], timeout: .seconds(10))
        let exit = try await stopping.waitForExit()
        XCTAssertEqual(exit, 0)
        _ = try await waitForHeld(hold, "three more rounds") { $0.answers >= started.answers + 600 }
        let opened = try Tally.decode(XCTUnwrap(stream.finish().last))
        let held = try decodeHeld(XCTUnwrap(hold.finish().last))
        XCTAssertEqual(opened.errors, [:], "no new connection failed")
        XCTAssertEqual(held.broken, 0, "\(held)")
        let connections = opened.answers.values.reduce(0, +) + held.connections
        let milliseconds = reroute.components.seconds * 1000 + reroute.components.attoseconds / 1_000_000_000_000_000
        print("fleet graceful_stop connections=\(connections) failed=\(opened.errors.values.reduce(0, +)) "
            + "broken=\(held.broken) reroute_ms=\(milliseconds)")
    }
}
