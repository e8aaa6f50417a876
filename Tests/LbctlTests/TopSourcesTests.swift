@testable import LbctlCore
import XCTest

/// `lbctl top sources`: the query sent, the table, `--json`, and refused arguments.
final class TopSourcesTests: LbctlTestCase {
    private let report = """
        {"capacity":16384,"seconds":1,"sources":[
         {"interval_new_flows":40,"last_seen_age_s":0.2,"new_flows":950,"prefix":"198.51.100.0/24","refused":12,"vip":"10.0.0.10:80/tcp"},
         {"interval_new_flows":3,"last_seen_age_s":75,"new_flows":3,"prefix":"2001:db8:c::/64","vip":"[2001:db8::10]:443/tcp","refused":0}
        ],"tracked":3}
        """

    func testTheTableRanksPrefixesByTheirNewFlowsOverTheInterval() {
        daemon.answer("GET", "/v1/sources?seconds=1&limit=20", .json(200, report))
        XCTAssertEqual(lbctl("top", "sources"), success("""
            new flows over 1s; 3 of 16384 source prefixes tracked
            VIP                     PREFIX           NEW/1S  TOTAL  REFUSED  LAST
            10.0.0.10:80/tcp        198.51.100.0/24      40    950       12    0s
            [2001:db8::10]:443/tcp  2001:db8:c::/64       3      3        0    1m

            """))
    }

    func testOptionsBecomeTheQueryAndJSONIsLbdsOwn() {
        let target = "/v1/sources?seconds=0&limit=5&vip=%5B2001%3Adb8%3A%3A10%5D%3A443%2Ftcp&prefix_v4=16&prefix_v6=48"
        daemon.answer("GET", target, .json(200, """
            {"capacity":16384,"seconds":0,"sources":[],"tracked":0}
            """), .json(200, """
            {
              "capacity" : 16384,
              "seconds" : 0,
              "sources" : [],
              "tracked" : 0
            }

            """))
        XCTAssertEqual(lbctl("top", "sources", "[2001:db8::10]:443/tcp", "--seconds", "0", "--limit", "5",
                             "--prefix", "/48", "--prefix", "16"),
                       success("new flows since each prefix was first tracked; 0 of 16384 source prefixes tracked\nno sources\n"))
        XCTAssertEqual(lbctl("top", "sources", "[2001:db8::10]:443/tcp", "--seconds", "0", "--limit", "5",
                             "--prefix", "/48", "--prefix", "16", "--json"), success("""
            {
              "capacity" : 16384,
              "seconds" : 0,
              "sources" : [],
              "tracked" : 0
            }

            """))
        XCTAssertEqual(daemon.requests.map(\.target), [target, target])
    }

    func testBadArgumentsSendNothing() {
        XCTAssertEqual(lbctl("top", "sources", "--prefix", "/24", "--prefix", "/8"),
                       failure(2, "lbctl: --prefix given twice for IPv4: /1 to /32 is IPv4, /33 to /128 IPv6\n"))
        XCTAssertEqual(lbctl("top", "sources", "--prefix", "/129"), failure(2, "lbctl: bad prefix length '/129': expected /1 to /128\n"))
        XCTAssertEqual(lbctl("top", "sources", "--seconds", "11"), failure(2, "lbctl: --seconds must be from 0 to 10, not 11\n"))
        XCTAssertEqual(lbctl("top", "sources", "10.0.0.10:80"), failure(2, "lbctl: bad VIP '10.0.0.10:80': no protocol; expected address:port/proto, "
                               + "e.g. 10.0.0.10:80/tcp or [2001:db8::10]:443/tcp\n"))
        XCTAssertEqual(daemon.requests, [])
    }

    func testLbdsRefusalIsExitCodeOne() {
        daemon.answer("GET", "/v1/sources?seconds=0&limit=20&vip=10.0.0.99%3A80%2Ftcp",
                      .json(404, #"{"error":"VIP 10.0.0.99:80/tcp is not installed"}"#))
        XCTAssertEqual(lbctl("top", "sources", "10.0.0.99:80/tcp", "--seconds", "0"),
                       failure(1, "lbctl: VIP 10.0.0.99:80/tcp is not installed\n"))
    }
}
