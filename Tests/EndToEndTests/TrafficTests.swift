import XCTest

/// Real TCP (HTTP) and UDP from the client through lbd to the backends and straight back
/// (DSR), over each encapsulation, with lbd's XDP program native and generic.
final class TrafficTests: XCTestCase {
    func testTCPAndUDPReachEachVIPsBackendOverEveryEncapsulationInNativeMode() async throws {
        try await trafficReachesEachVIPsBackend(.native)
    }

    func testTCPAndUDPReachEachVIPsBackendOverEveryEncapsulationInGenericMode() async throws {
        try await trafficReachesEachVIPsBackend(.generic)
    }

    /// One backend per VIP, so the backend of every answer is known exactly; connected
    /// client sockets only take answers from the VIP, so each answer also proves DSR.
    private func trafficReachesEachVIPsBackend(_ mode: Topology.XDPMode) async throws {
        let topology = try Topology(self, backends: 3, mode: mode)
        let routes: [(vip: String, backend: Int, family: Topology.Family, tunnel: String)] = [
            (try topology.vip(.v4, 10), 1, .v4, "IPIP"),
            (try topology.vip(.v6, 10), 2, .v6, "IP6IP6"),
            (try topology.vip(.v4, 11), 3, .v6, "4-in-6"),
        ]
        var services: [Service] = []
        for route in routes {
            let backend = [(address: try topology.backendAddress(route.backend, route.family), weight: 100)]
            services.append(Service(route.vip, port: try topology.httpPort, "tcp", backends: backend))
            services.append(Service(route.vip, port: try topology.udpPort, "udp", backends: backend))
        }
        let lbd = try await LBD(self, on: topology, services: services)
        XCTAssertEqual(try lbd.status().datapath.attached, mode.rawValue)

        for route in routes {
            let onlyItsBackend = Tally(answers: [topology.backendName(route.backend): 20])
            XCTAssertEqual(try topology.http(count: 20, topology.url(route.vip)), onlyItsBackend, "TCP to \(route.vip), \(route.tunnel)")
            XCTAssertEqual(try topology.udp(count: 20, route.vip), onlyItsBackend, "UDP to \(route.vip), \(route.tunnel)")
        }
    }
}
