@testable import Balancer
import XCTest

/// The configuration's `announce:` section: every key, the defaults, and errors at their node.
final class AnnounceConfigurationTests: XCTestCase {
    func testEveryKey() throws {
        let configuration = try Configuration(yaml: """
            interface: eth0
            announce:
              enabled: true
              bird_socket: /run/bird/lb.ctl
              routes_file: /etc/bird/lbd/vips.conf
              announce_delay: 30s
              drain_time: 5s
              graceful_shutdown: false
              med: 100
              local_preference: 200
              communities: ["65000:100", "65535:666"]

            """)
        var expected = AnnounceSettings()
        expected.birdSocket = "/run/bird/lb.ctl"
        expected.routesFile = "/etc/bird/lbd/vips.conf"
        expected.announceDelay = .seconds(30)
        expected.drainTime = .seconds(5)
        expected.gracefulShutdown = false
        expected.med = 100
        expected.localPreference = 200
        expected.communities = [BGPCommunity(asn: 65000, value: 100), BGPCommunity(asn: 65535, value: 666)]
        XCTAssertEqual(configuration.announce, expected)
    }

    func testDefaultsAndDisabled() throws {
        XCTAssertNil(try Configuration(yaml: "interface: eth0\n").announce)
        XCTAssertNil(try Configuration(yaml: "interface: eth0\nannounce: { enabled: false, med: 5 }\n").announce)
        let settings = try XCTUnwrap(try Configuration(yaml: "interface: eth0\nannounce: {}\n").announce)
        XCTAssertEqual(settings.birdSocket, "/run/bird/bird.ctl")
        XCTAssertEqual(settings.routesFile, "/run/lbd/bird/vips.conf")
        XCTAssertEqual(settings.announceDelay, .seconds(10))
        XCTAssertEqual(settings.drainTime, .seconds(10))
        XCTAssertTrue(settings.gracefulShutdown)
        XCTAssertNil(settings.med)
        XCTAssertNil(settings.localPreference)
        XCTAssertEqual(settings.communities, [])
        XCTAssertEqual(try Configuration(yaml: "interface: eth0\nannounce: { drain_time: 0s, announce_delay: 0s }\n")
            .announce?.drainTime, .zero)
    }

    func testErrorsAtTheirNode() {
        let cases: [(String, [String])] = [
            ("announce: yes\n", ["2:11: announce: expected a mapping (key: value lines), found a single value"]),
            ("announce:\n  enable: true\n",
             ["3:3: unknown key 'enable' in announce (expected one of: enabled, bird_socket, routes_file, announce_delay, "
                + "drain_time, graceful_shutdown, med, local_preference, communities)"]),
            ("announce:\n  enabled: yes\n", ["3:12: announce.enabled: expected true or false, got 'yes'"]),
            ("announce:\n  bird_socket: bird.ctl\n", ["3:16: announce.bird_socket: bad path 'bird.ctl': expected an absolute path"]),
            ("announce:\n  routes_file: /run/lbd/vips.txt\n",
             ["3:16: announce.routes_file: bad routes file '/run/lbd/vips.txt': expected an absolute path ending in .conf, "
                + "without quotes"]),
            ("announce:\n  drain_time: 21s\n", ["3:15: announce.drain_time: bad duration '21s': expected 0s to 20s"]),
            ("announce:\n  announce_delay: soon\n",
             ["3:19: announce.announce_delay: bad duration 'soon': expected a whole number and a unit (ms, s, m, h), e.g. 30s"]),
            ("announce:\n  med: -1\n  local_preference: 5000000000\n",
             ["3:8: announce.med: bad value '-1': expected an integer from 0 to 4294967295",
              "4:21: announce.local_preference: bad value '5000000000': expected an integer from 0 to 4294967295"]),
            ("announce:\n  communities: [\"65000:100\", \"65536:1\", \"1\"]\n",
             ["3:30: announce.communities: bad community '65536:1': expected ASN:VALUE, each 0 to 65535 (65000:100)",
              "3:41: announce.communities: bad community '1': expected ASN:VALUE, each 0 to 65535 (65000:100)"]),
            ("announce:\n  communities: 65000:100\n", ["3:16: announce.communities: expected a list, found a single value"]),
        ]
        for (section, expected) in cases {
            let text = "interface: eth0\n" + section
            XCTAssertEqual(Configuration.check(yaml: text).map(\.description), expected, "file:\n\(text)")
        }
    }
}
