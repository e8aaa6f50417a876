import Foundation
import TestSupport
import XCTest

/// A real QUIC connection (aioquic on both ends) through lbd whose client moves to a new
/// UDP port mid-connection, after its backend was drained: on a `quic: true` VIP the
/// connection ID still names that backend, so the connection goes on there; on a plain
/// UDP VIP the new 5-tuple is hashed into a ring that no longer holds it, and the
/// connection is lost.
final class QUICMigrationTests: XCTestCase {
    private static let port = 4433
    private static let python = SourceTree.root + "/build/python/bin/python3"

    func testAMigratedConnectionStaysOnItsDrainedBackendOnlyOnAQUICVIP() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw EndToEndFailure("no \(Self.python) with aioquic: run make deps (scripts/install-aioquic.sh)")
        }
        let topology = try Topology(self, backends: 2)
        let backends = [(address: try topology.backendAddress(1, .v4), weight: 100),
                        (address: try topology.backendAddress(2, .v4), weight: 100)]
        let addresses = [try topology.vip(.v4, 40), try topology.vip(.v4, 41)]
        let quic = Service(addresses[0], port: Self.port, "udp", backends: backends, quicServerIDs: [1, 2])
        let plain = Service(addresses[1], port: Self.port, "udp", backends: backends)
        let lbd = try await LBD(self, on: topology, services: [quic, plain])
        for index in 1...2 {
            let server = try InteractiveClient(self, command: (Topology.script, [
                "exec", topology.name, topology.backendName(index), Self.python,
                SourceTree.root + "/scripts/topology/quic_server.py", topology.backendName(index), String(Self.port),
                String(index),
            ] + addresses))
            XCTAssertEqual(try server.next(), "\(topology.backendName(index)) ready")
        }

        let kept = try migrate(through: quic, lbd, topology)
        XCTAssertNotEqual(kept.portAfter, kept.portBefore)
        XCTAssertEqual(kept.after, Array(repeating: ["answer": "\(kept.backend) \(kept.client):\(kept.portAfter)"], count: 3),
                       "the drained backend answers the moved connection, from its new port")

        let lost = try migrate(through: plain, lbd, topology)
        XCTAssertEqual(lost.after, Array(repeating: ["error": "timeout"], count: 3),
                       "without quic: true the moved connection is hashed to the other backend, which does not know it")
    }

    private struct Migration {
        var backend: String
        var client: String
        var portBefore: Int
        var portAfter: Int
        var after: [[String: String]]
    }

    /// A connection to `service` answered once; its backend drained in the service; the
    /// client moved to a new port; three requests. Their answers, or errors.
    private func migrate(through service: Service, _ lbd: LBD, _ topology: Topology) throws -> Migration {
        let host = String(service.vip.split(separator: ":")[0])
        let client = try InteractiveClient(self, command: (Topology.script, [
            "exec", topology.name, "client", Self.python, SourceTree.root + "/scripts/topology/quic_client.py", host,
            String(Self.port),
        ]))
        let portBefore = try XCTUnwrap(Int(try Self.field("port", of: client.next())))
        let first = try Self.field("answer", of: client.ask("request")).split(separator: " ").map(String.init)
        XCTAssertEqual(first.count, 2, "\(first)")
        XCTAssertTrue(first[1].hasSuffix(":\(portBefore)"), "\(first)")
        let backend = first[0]
        let index = backend == topology.backendName(1) ? 1 : 2
        try lbd.lbctl("backend", "drain", service.vip, topology.backendAddress(index, .v4))
        let portAfter = try XCTUnwrap(Int(try Self.field("port", of: client.ask("migrate"))))
        let after = try (0..<3).map { _ in try Self.object(client.ask("request")) }
        return Migration(backend: backend, client: String(first[1][..<first[1].lastIndex(of: ":")!]),
                         portBefore: portBefore, portAfter: portAfter, after: after)
    }

    private static func object(_ line: String) throws -> [String: String] {
        let value = try JSONSerialization.jsonObject(with: Data(line.utf8))
        guard let object = value as? [String: Any] else { throw EndToEndFailure("not an object: \(line)") }
        return object.mapValues { "\($0)" }
    }

    private static func field(_ key: String, of line: String) throws -> String {
        guard let value = try object(line)[key] else { throw EndToEndFailure("no \(key) in \(line)") }
        return value
    }
}
