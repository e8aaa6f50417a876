@testable import Daemon
import Foundation
import TestSupport
import XCTest

/// NIC VLAN tag stripping (rx-vlan-offload) would make XDP_TX send tagged traffic out
/// untagged: lbd turns it off before attaching, or refuses an interface where it is fixed on.
final class VLANOffloadTests: XCTestCase {
    func testEthtoolFeaturesAreRead() {
        XCTAssertEqual(VLANOffload.parse("Features for eth0:\nrx-checksumming: on\nrx-vlan-offload: on\n"), .on(fixed: false))
        XCTAssertEqual(VLANOffload.parse("rx-vlan-offload: on [fixed]\ntx-vlan-offload: on\n"), .on(fixed: true))
        XCTAssertEqual(VLANOffload.parse("rx-vlan-offload: off [fixed]\n"), .off)
        XCTAssertNil(VLANOffload.parse("rx-vlan-filter: off [fixed]\n"), "a driver without the feature")
    }

    /// The veth lbd runs on strips tags (a veth's default); after lbd's start it does not, and the log says why.
    func testTagStrippingIsTurnedOffBeforeTheProgramIsAttached() async throws {
        let sandbox = try DaemonSandbox(self)
        let features = { try shell("ip", "netns", "exec", sandbox.network.namespace, "ethtool", "-k", sandbox.network.interface) }
        XCTAssertEqual(VLANOffload.parse(try features()), .on(fixed: false), "the test needs stripping on at first")
        let daemon = try await sandbox.startDaemon(limits: "{ max_vips: 8, max_backends: 16, ring_size: 1009, connection_table: 4096 }",
                                                   services: "  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 192.0.2.11 } ]")
        XCTAssertEqual(VLANOffload.parse(try features()), .off)
        let log = try String(contentsOfFile: sandbox.log, encoding: .utf8)
        XCTAssertTrue(log.contains("turned the NIC's VLAN tag stripping off"), log)
        XCTAssertNotNil(try sandbox.network.attachedProgramID())
        let status = try await daemon.stop(SIGTERM)
        XCTAssertEqual(status, 0)
    }
}
