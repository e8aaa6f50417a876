import Foundation
import XCTest

/// `lbctl apply` of 100 VIPs (50 IPv4, 50 IPv6) on a running lbd: every VIP answers from
/// the backend the file names; a second apply moving every VIP to the next backend moves
/// the traffic with it.
final class ApplyTests: XCTestCase {
    private typealias VIP = (address: String, family: Topology.Family)

    func testApplyingAHundredVIPsRoutesEachToItsBackendAndAReapplyMovesThemAll() async throws {
        let topology = try Topology(self, backends: 3)
        let lbd = try await LBD(self, on: topology, services: [], maxVIPs: 128)
        let vips: [VIP] = try (1...50).map { (try topology.vip(.v4, 100 + $0), .v4) }
            + (1...50).map { (try topology.vip(.v6, 0x100 + $0), .v6) }

        for (shift, plan) in [(0, "100 VIPs added, 0 removed, 0 changed"), (1, "0 VIPs added, 0 removed, 100 changed")] {
            // VIP i on backend (i + shift) mod 3, in the VIP's family.
            let backends = vips.indices.map { ($0 + shift) % topology.backendCount + 1 }
            let file = try writeServices(vips, backends, topology)
            XCTAssertTrue(try lbd.lbctl("apply", "-f", file, "--yes").hasSuffix("\(plan)\napplied\n"), "apply #\(shift + 1)")
            XCTAssertEqual(try lbd.status().services.count, 100)
            XCTAssertEqual(try topology.http(count: 1, vips.map { try topology.url($0.address) }),
                           backends.map { Tally(answers: [topology.backendName($0): 1]) }, "after apply #\(shift + 1)")
        }
    }

    /// An apply file: VIP i, HTTP port, TCP, with the single backend `backends[i]`.
    private func writeServices(_ vips: [VIP], _ backends: [Int], _ topology: Topology) throws -> String {
        let services = try zip(vips, backends).map { vip, backend in
            Service(vip.address, port: try topology.httpPort, "tcp",
                    backends: [(try topology.backendAddress(backend, vip.family), 100)])
        }
        let file = try topology.value("TOPOLOGY_DIR") + "/services.yaml"
        try Service.yaml(services).write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}
