import LBDAPI
import XCTest

/// New connections spread over weighted backends as their shares of the Maglev ring lbd
/// reports, and those follow the weights.
final class DistributionTests: XCTestCase {
    private let weights = [1: 100, 2: 200, 3: 300]
    private let connections = 1200

    func testNewConnectionsSpreadOverWeightedBackendsByTheirShareOfTheRing() async throws {
        let topology = try Topology(self, backends: weights.count)
        let vip = try topology.value("VIP4")
        let backends = try weights.sorted { $0.key < $1.key }.map { (try topology.backendAddress($0.key, .v4), $0.value) }
        let service = Service(vip, port: try topology.httpPort, "tcp", backends: backends)
        let lbd = try await LBD(self, on: topology, services: [service])
        let slots = try ringSlots(lbd.status().backends(of: service.vip), topology)
        assertSlotsFollowTheWeights(slots)

        let tally = try topology.http(count: connections, topology.url(vip))
        XCTAssertEqual(tally.errors, [:])
        XCTAssertEqual(tally.answers.values.reduce(0, +), connections)
        assertConnectionsFollowTheSlots(tally, slots, topology)
    }

    /// Maglev's bound (Sources/Maglev/Maglev.docc/Format.md): a backend's slot count n and
    /// its exact share M·w/Σw differ by −(1 + w/w_max) … w/w_max + N·w/Σw slots.
    private func assertSlotsFollowTheWeights(_ slots: [Int: Int]) {
        let ringSize = Double(slots.values.reduce(0, +))
        let total = Double(weights.values.reduce(0, +)), largest = Double(weights.values.max() ?? 0)
        for (backend, weight) in weights.mapValues(Double.init) {
            let excess = Double(slots[backend] ?? 0) - ringSize * weight / total
            XCTAssertGreaterThanOrEqual(excess, -(1 + weight / largest), "b\(backend)'s ring slots")
            XCTAssertLessThanOrEqual(excess, weight / largest + Double(weights.count) * weight / total, "b\(backend)'s ring slots")
        }
    }

    /// Each connection (a new source port, hashed with the rest of the 5-tuple) lands on a
    /// backend with probability p = its share of the ring: its count is binomial. Within
    /// five standard deviations: a correct datapath misses with probability 6·10⁻⁷.
    private func assertConnectionsFollowTheSlots(_ tally: Tally, _ slots: [Int: Int], _ topology: Topology) {
        let ringSize = Double(slots.values.reduce(0, +))
        for (backend, count) in slots {
            let share = Double(count) / ringSize
            let expected = Double(connections) * share
            XCTAssertEqual(Double(tally.answers[topology.backendName(backend)] ?? 0), expected,
                           accuracy: 5 * (expected * (1 - share)).squareRoot(),
                           "b\(backend) with \(count) of \(Int(ringSize)) slots: \(tally)")
        }
    }

    /// Ring slots by backend index.
    private func ringSlots(_ backends: [StatusResponse.Backend], _ topology: Topology) throws -> [Int: Int] {
        var slots: [Int: Int] = [:]
        for index in 1...topology.backendCount {
            let address = try topology.backendAddress(index, .v4)
            slots[index] = try XCTUnwrap(backends.first { $0.address == address }).ringSlots
        }
        return slots
    }
}
