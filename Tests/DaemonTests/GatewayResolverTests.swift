import Balancer
@testable import Daemon
import Foundation
import XCTest

/// `gateway_mac: auto` from the outputs of `ip -j route`, `ip -j neigh` and /proc/net/arp.
final class GatewayResolverTests: XCTestCase {
    func testTheDefaultRoutesGateways() {
        let routes = Data(#"[{"dst":"default","gateway":"192.168.1.1","dev":"eth0","protocol":"dhcp","flags":[]},{"dst":"default","dev":"eth0","flags":[]}]"#.utf8)
        XCTAssertEqual(GatewayResolver.defaultGateways(routeJSON: routes), ["192.168.1.1"])
        XCTAssertEqual(GatewayResolver.defaultGateways(routeJSON: Data("[]".utf8)), [])
        XCTAssertEqual(GatewayResolver.defaultGateways(routeJSON: Data("garbage".utf8)), [])
    }

    func testANeighbourWithAMACIsUsedAFailedOneIsNot() throws {
        let reachable = Data(#"[{"dst":"192.168.1.1","dev":"eth0","lladdr":"52:54:00:12:34:56","state":["REACHABLE"]}]"#.utf8)
        XCTAssertEqual(GatewayResolver.neighbourMAC(neighJSON: reachable), try MACAddress("52:54:00:12:34:56"))
        let failed = Data(#"[{"dst":"192.168.1.1","dev":"eth0","state":["FAILED"]}]"#.utf8)
        XCTAssertNil(GatewayResolver.neighbourMAC(neighJSON: failed))
        let incomplete = Data(#"[{"dst":"192.168.1.1","dev":"eth0","lladdr":"00:00:00:00:00:00","state":["INCOMPLETE"]}]"#.utf8)
        XCTAssertNil(GatewayResolver.neighbourMAC(neighJSON: incomplete))
    }

    func testProcNetARP() throws {
        let arp = """
            IP address       HW type     Flags       HW address            Mask     Device
            192.168.1.1      0x1         0x2         52:54:00:12:34:56     *        eth0
            192.168.1.9      0x1         0x0         00:00:00:00:00:00     *        eth0
            10.1.1.1         0x1         0x2         52:54:00:aa:bb:cc     *        eth1
            """
        XCTAssertEqual(GatewayResolver.neighbourMAC(procNetARP: arp, address: "192.168.1.1", interface: "eth0"),
                       try MACAddress("52:54:00:12:34:56"))
        XCTAssertNil(GatewayResolver.neighbourMAC(procNetARP: arp, address: "192.168.1.9", interface: "eth0"), "incomplete")
        XCTAssertNil(GatewayResolver.neighbourMAC(procNetARP: arp, address: "10.1.1.1", interface: "eth0"), "other device")
    }

    func testAnExplicitMACIsTakenAsItIs() throws {
        let mac = try MACAddress("02:00:00:00:00:01")
        XCTAssertEqual(try GatewayResolver.resolve(.address(mac), interface: "nonexistent0"), mac)
    }

    func testNoDefaultRouteIsAClearError() {
        XCTAssertThrowsError(try GatewayResolver.resolve(.auto, interface: "nonexistent0")) { error in
            XCTAssertTrue("\(error)".hasPrefix("gateway_mac auto: no default route with a gateway on nonexistent0"), "\(error)")
        }
    }
}
