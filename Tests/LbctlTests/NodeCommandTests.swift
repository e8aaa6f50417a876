@testable import LbctlCore
import XCTest

/// `lbctl node drain|undrain`, and the announcements in `lbctl status`.
final class NodeCommandTests: LbctlTestCase {
    func testDrainAndUndrainPostAndPrintTheNodesState() {
        daemon.answer("POST", "/v1/node/drain", .json(200, #"{"node":"draining"}"#))
        XCTAssertEqual(lbctl("node", "drain"), success("node draining\n"))
        daemon.answer("POST", "/v1/node/undrain", .json(200, #"{"node":"active"}"#))
        XCTAssertEqual(lbctl("node", "undrain"), success("node active\n"))
        XCTAssertEqual(daemon.requests.map(\.target), ["/v1/node/drain", "/v1/node/undrain"])
        XCTAssertEqual(daemon.requests.map(\.method), ["POST", "POST"])
    }

    func testDrainWithoutAnnouncementsIsLbdsRefusal() {
        daemon.answer("POST", "/v1/node/drain", .json(409, """
            {"error":"this node announces nothing (no announce: section in the configuration): nothing to drain"}
            """))
        XCTAssertEqual(lbctl("node", "drain"), failure(1, """
            lbctl: this node announces nothing (no announce: section in the configuration): nothing to drain

            """))
    }

    func testStatusShowsEachRouteAndWhy() {
        daemon.answer("GET", "/v1/status", .json(200, """
            {"services":[],"datapath":{"attached":"native","interface":"eth0","adopted":false},
             "announce":{"node":"active","bird_error":null,"routes":[
               {"prefix":"10.0.0.10/32","announced":true,"servable":true,"reason":"serving: min_up backends up"},
               {"prefix":"2001:db8::10/128","announced":false,"servable":false,"reason":"cannot serve"}]}}
            """))
        XCTAssertEqual(lbctl("status"), success("""
            datapath: native XDP on eth0
            announce: node active, BIRD has the routes
              ROUTE             STATE      SERVABLE  WHY
              10.0.0.10/32      announced  yes       serving: min_up backends up
              2001:db8::10/128  withdrawn  no        cannot serve

            no VIPs

            """))
    }

    func testStatusShowsBirdsError() {
        daemon.answer("GET", "/v1/status", .json(200, """
            {"services":[],"datapath":{"attached":"native","interface":"eth0","adopted":false},
             "announce":{"node":"drained","bird_error":"BIRD unreachable at /run/bird/bird.ctl: Connection refused","routes":[]}}
            """))
        XCTAssertEqual(lbctl("status"), success("""
            datapath: native XDP on eth0
            announce: node drained, BIRD does not have the routes: BIRD unreachable at /run/bird/bird.ctl: Connection refused

            no VIPs

            """))
    }
}
