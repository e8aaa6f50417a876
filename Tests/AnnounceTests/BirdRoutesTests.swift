@testable import Announce
import Balancer
import XCTest

/// The routes file BIRD includes, byte for byte, and the replies of its control socket.
final class BirdRoutesTests: XCTestCase {
    let addresses = [try! IPAddress("2001:db8::10"), try! IPAddress("10.0.0.11"), try! IPAddress("10.0.0.10")]

    func testRoutesPerFamilyInAddressOrder() {
        XCTAssertEqual(BirdRoutes.render(addresses, settings: AnnounceSettings(), tagged: false), """
            # Written by lbd (announce: in lbd.yaml): the VIPs this node can serve. lbd rewrites it.
            protocol static lbd_vips4 {
                ipv4;
                route 10.0.0.10/32 blackhole;
                route 10.0.0.11/32 blackhole;
            }
            protocol static lbd_vips6 {
                ipv6;
                route 2001:db8::10/128 blackhole;
            }

            """)
    }

    func testNothingAnnouncedKeepsBothProtocols() {
        XCTAssertEqual(BirdRoutes.render([], settings: AnnounceSettings(), tagged: true), """
            # Written by lbd (announce: in lbd.yaml): the VIPs this node can serve. lbd rewrites it.
            protocol static lbd_vips4 {
                ipv4;
            }
            protocol static lbd_vips6 {
                ipv6;
            }

            """)
    }

    func testAttributesAndTheGracefulShutdownCommunity() {
        var settings = AnnounceSettings()
        settings.med = 50
        settings.localPreference = 200
        settings.communities = [BGPCommunity(asn: 65000, value: 100)]
        let text = BirdRoutes.render([addresses[2]], settings: settings, tagged: true)
        XCTAssertTrue(text.contains("    route 10.0.0.10/32 blackhole { bgp_med = 50; bgp_local_pref = 200; "
            + "bgp_community.add((65000, 100)); bgp_community.add((65535, 0)); };\n"), text)
    }

    func testReplyLines() {
        XCTAssertNil(BirdReply(finalLine: "0002-Reading configuration from /etc/bird/bird.conf", previous: []))
        let ok = BirdReply(finalLine: "0003 Reconfigured", previous: ["0002-Reading configuration from bird.conf"])
        XCTAssertEqual(ok, BirdReply(code: 3, text: "Reading configuration from bird.conf; Reconfigured"))
        XCTAssertEqual(ok?.isError, false)
        let refused = BirdReply(finalLine: "8002 /run/lbd/vips.conf:1:1 syntax error, unexpected GARBAGE", previous: [])
        XCTAssertEqual(refused?.isError, true)
        XCTAssertEqual(refused?.text, "/run/lbd/vips.conf:1:1 syntax error, unexpected GARBAGE")
    }
}
