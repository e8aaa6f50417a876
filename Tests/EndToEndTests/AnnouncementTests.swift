import Foundation
import TestSupport
import XCTest

/// The real lbd announcing its VIPs through the real BIRD of its node to the real BIRD
/// of the router (`lbd-topology up --bird 1`): the router has no route to the VIPs but
/// what lbd has BIRD announce.
final class AnnouncementTests: XCTestCase {
    private static let check = "{ type: http, interval: 200ms, timeout: 100ms, rise: 2, fall: 2 }"

    private func setUp(check: String? = nil, announce: String = "announce_delay: 1s, drain_time: 1s")
        async throws -> (Topology, LBD, routes: [String: [String]]) {
        let topology = try Topology(self, backends: 2, birdNodes: 1)
        let services = try [Topology.Family.v4, .v6].map { family in
            Service(try topology.value("VIP" + family.rawValue), port: try topology.httpPort, "tcp",
                    backends: [(try topology.backendAddress(1, family), 100), (try topology.backendAddress(2, family), 100)],
                    healthCheck: check)
        }
        let lbd = try await LBD(self, on: topology, services: services, announce: announce)
        let routes = [try topology.value("VIP4") + "/32": [try topology.value("LB_IP4")],
                      try topology.value("VIP6") + "/128": [try topology.value("LB_IP6")]]
        try await topology.waitForRouterRoutes(routes)
        return (topology, lbd, routes)
    }

    func testVIPsAreAnnouncedWhileTheyCanServeWithdrawnWhenTheyCannotAndAnnouncedAgain() async throws {
        let (topology, lbd, routes) = try await setUp(check: Self.check)
        XCTAssertEqual(try topology.http(count: 20, topology.url(topology.value("VIP4"))).errors, [:])
        XCTAssertEqual(try topology.http(count: 20, topology.url(topology.value("VIP6"))).errors, [:])

        // Every backend failed: interval × fall + timeout + 1 s = 1.5 s; 10 s is the loose bound.
        try topology.serverStop(1)
        try topology.serverStop(2)
        let withdrawal = try await topology.waitForRouterRoutes([:], timeout: .seconds(10))
        print("announce all backends failed: withdrawn after \(withdrawal)")
        XCTAssertTrue(lbd.output.contains("route withdrawn"), lbd.output)

        try topology.serverStart(1)
        try await topology.waitForRouterRoutes(routes, timeout: .seconds(10))
        XCTAssertEqual(try topology.http(count: 20, topology.url(topology.value("VIP4"))).answers, ["b1": 20])
    }

    /// SIGTERM: tagged GRACEFUL_SHUTDOWN, withdrawn, and only then does lbd exit; the XDP
    /// program stays attached. The next start announces again (a stop is not a drain).
    func testGracefulStopWithdrawsBeforeExiting() async throws {
        let (topology, lbd, routes) = try await setUp(announce: "announce_delay: 1s, drain_time: 2s")
        let vip4 = try topology.value("VIP4") + "/32"
        let stopping = try lbd.signal(SIGTERM)
        try await waitFor("the route carrying GRACEFUL_SHUTDOWN while lbd drains", within: .seconds(2), every: .milliseconds(50)) {
            try topology.routerRoute(vip4).contains("(65535,0)")
        }
        let status = try await stopping.waitForExit()
        XCTAssertEqual(status, 0)
        // Withdrawn from the node's BIRD before lbd exited.
        let nodeRoutes = try topology.exec("lb", ["birdc", "-s", topology.value("LB_BIRD_SOCKET"), "show", "route",
                                                  "protocol", "lbd_vips4"])
        XCTAssertFalse(nodeRoutes.contains(try topology.value("VIP4")), nodeRoutes)
        try await topology.waitForRouterRoutes([:], timeout: .seconds(5))
        XCTAssertTrue(try topology.exec("lb", ["ip", "link", "show", "eth0"]).contains("xdp"), "XDP stays attached")

        try await lbd.start()
        try await topology.waitForRouterRoutes(routes)
    }

    /// A killed lbd: BIRD's session and routes are not lbd's, and XDP keeps forwarding.
    func testKilledLbdKeepsItsRoutesUntilItIsBack() async throws {
        let (topology, lbd, routes) = try await setUp()
        let routesFile = try topology.value("LB_BIRD_ROUTES")
        let written = try String(contentsOfFile: routesFile, encoding: .utf8)
        let exit = try await lbd.stop(SIGKILL)
        XCTAssertEqual(exit, SIGKILL)
        // Longer than the router's hold time (3 s): the session is BIRD's, not lbd's.
        try await Task.sleep(for: .seconds(4))
        XCTAssertEqual(try topology.routerBGPRoutes(), routes)
        XCTAssertEqual(try topology.http(count: 20, topology.url(topology.value("VIP4"))).errors, [:])
        try await lbd.start()
        XCTAssertEqual(try String(contentsOfFile: routesFile, encoding: .utf8), written, "the restarted lbd wrote the same routes")
        XCTAssertEqual(try topology.routerBGPRoutes(), routes)
    }

    /// BIRD restarted: it reads the routes lbd wrote; lbd need do nothing.
    func testRestartedBirdAnnouncesWhatLbdWrote() async throws {
        let (topology, _, routes) = try await setUp()
        try topology.birdStop("lb")
        try await topology.waitForRouterRoutes([:], timeout: .seconds(10))  // hold time
        try topology.birdStart("lb")
        try await topology.waitForRouterRoutes(routes)
    }

    /// `lbctl node drain` withdraws (and stays so across a restart); undrain announces.
    func testNodeDrainAndUndrain() async throws {
        let (topology, lbd, routes) = try await setUp()
        XCTAssertEqual(try lbd.lbctl("node", "drain"), "node draining\n")
        try await topology.waitForRouterRoutes([:], timeout: .seconds(10))
        let stopped = try await lbd.stop(SIGTERM)
        XCTAssertEqual(stopped, 0)
        try await lbd.start()
        try await Task.sleep(for: .seconds(1))
        XCTAssertEqual(try topology.routerBGPRoutes(), [:], "still drained after a restart")
        XCTAssertEqual(try lbd.lbctl("node", "undrain"), "node active\n")
        try await topology.waitForRouterRoutes(routes)
    }
}
