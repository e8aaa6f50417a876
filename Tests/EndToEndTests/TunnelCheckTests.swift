import Foundation
import LBDAPI
import TestSupport
import XCTest

/// Checks through the tunnel (`via: tunnel`, the default) against checks of the backend's
/// own address (`via: direct`), when a backend loses its VIPs from lo: its own address
/// still answers, but every flow the balancer sends it is lost. The tunnel check sees
/// it and takes the backend out; the direct check keeps it in while clients fail.
final class TunnelCheckTests: XCTestCase {
    /// Out after 2 failures, in after 2 successes; interval × fall + timeout = 1.4 s.
    private static let timing = "type: http, interval: 500ms, timeout: 400ms, rise: 2, fall: 2, start_state: down"

    func testIPv4BackendWithoutItsVIPIsTakenOutByTheTunnelCheckOnly() async throws {
        try await checkVIPRemoval(.v4)
    }

    func testIPv6BackendWithoutItsVIPIsTakenOutByTheTunnelCheckOnly() async throws {
        try await checkVIPRemoval(.v6)
    }

    private func checkVIPRemoval(_ family: Topology.Family) async throws {
        let topology = try Topology(self, backends: 2)
        // Strict reverse-path filtering on the LB: the checks' replies come from a VIP, and
        // the LB's route back to it (its default route) leaves by the interface they arrive on.
        try topology.exec("lb", ["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=1", "net.ipv4.conf.eth0.rp_filter=1"])
        let port = try topology.httpPort
        let addresses = try (1...2).map { try topology.backendAddress($0, family) }
        let tunnelled = Service(try topology.vip(family, 10), port: port, "tcp", backends: addresses.map { ($0, 100) },
                                healthCheck: "{ \(Self.timing) }")
        let direct = Service(try topology.vip(family, 11), port: port, "tcp", backends: addresses.map { ($0, 100) },
                             healthCheck: "{ \(Self.timing), via: direct }")
        let lbd = try await LBD(self, on: topology, services: [tunnelled, direct])
        for service in [tunnelled, direct] {
            try await waitForHealth(lbd, service, addresses.map { ($0, "up") })
        }

        // b1's VIPs leave lo: its address still answers on the port, the VIPs do not.
        let prefix = try topology.value(family == .v4 ? "VIP_PREFIX4" : "VIP_PREFIX6")
        try topology.exec("b1", ["ip", "-\(family.rawValue)", "route", "del", "local", prefix, "dev", "lo", "table", "local"])
        let removed = ContinuousClock.now
        try await waitForHealth(lbd, tunnelled, [(addresses[0], "down"), (addresses[1], "up")])
        print("tunnel check took \(addresses[0]) down \(ContinuousClock.now - removed) after its VIPs left lo "
              + "(interval × fall + timeout = 1.4 s)")

        let tunnelVIP = try topology.url(topology.vip(family, 10))
        let afterDown = try topology.http(count: 40, tunnelVIP)
        XCTAssertEqual(afterDown, Tally(answers: ["b2": 40]), "no new connection reaches b1 once the tunnel check failed")

        // The direct check, run as long again and more, still finds b1 up: it asks b1's own address.
        try await Task.sleep(for: .seconds(2))
        let directBackends = try lbd.status().backends(of: direct.vip)
        XCTAssertEqual(directBackends.first { $0.address == addresses[0] }?.health, "up",
                       "via: direct keeps b1 up: \(directBackends)")
        XCTAssertEqual(try lbd.status().backends(of: tunnelled.vip).first { $0.address == addresses[0] }?.health, "down")
    }

    /// Polls `lbctl status` until every backend named has the health given and a ring
    /// share that matches it. Bounded loosely: the check interval decides, not this.
    private func waitForHealth(_ lbd: LBD, _ service: Service, _ wanted: [(address: String, health: String)]) async throws {
        try await waitFor("backends of \(service.vip) reaching \(wanted): "
                            + "\((try? lbd.status().backends(of: service.vip)) ?? [])\n\(lbd.output)",
                          within: .seconds(10), every: .milliseconds(20)) {
            let backends = try lbd.status().backends(of: service.vip)
            return wanted.allSatisfy { want in
                backends.contains { $0.address == want.address && $0.health == want.health && ($0.ringSlots > 0) == (want.health == "up") }
            }
        }
    }
}
