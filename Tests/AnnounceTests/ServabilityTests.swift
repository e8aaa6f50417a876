import Announce
import Balancer
import TestDoubles
import XCTest

/// What can serve, read from the state and what the reconciler installed.
final class ServabilityTests: XCTestCase {
    let limits = Limits(maxVIPs: 8, maxBackends: 8, ringSize: 1009, connectionTable: 1000, backendFamilies: [.v4, .v6])

    func testAnAddressServesWhileOneOfItsServicesHasMinUpBackendsInItsRing() async throws {
        let state = try DesiredState(yaml: """
            services:
              - vip: 10.0.0.10:80/tcp
                health_check: { type: tcp, min_up: 2, start_state: up }
                backends: [ { address: 192.0.2.11 }, { address: 192.0.2.12 } ]
              - vip: 10.0.0.10:53/udp
                backends: [ { address: 192.0.2.13, drained: true } ]
              - vip: "[2001:db8::10]:443/tcp"
                backends: [ { address: "2001:db8::11" } ]
              - vip: 10.0.0.20:80/tcp
                backends: []

            """, limits: limits)
        let reconciler = Reconciler(writer: InMemoryDatapath(limits: limits), limits: limits)
        _ = try await reconciler.apply(state)
        let v4 = try IPAddress("10.0.0.10"), v6 = try IPAddress("2001:db8::10"), empty = try IPAddress("10.0.0.20")
        let all = Servability.byAddress(state, await reconciler.snapshot())
        XCTAssertEqual(all, [v4: true, v6: true, empty: false])

        // One of two backends down: the TCP service is below min_up, and the UDP one's only
        // backend is drained.
        _ = try await reconciler.setHealth([BackendRef(vip: try VIPKey("10.0.0.10:80/tcp"), address: try IPAddress("192.0.2.12")): false])
        let snapshot = await reconciler.snapshot()
        XCTAssertEqual(Servability.byAddress(state, snapshot), [v4: false, v6: true, empty: false])
    }

    func testAServiceNotYetInstalledCannotServe() async throws {
        let state = try DesiredState(yaml: "services:\n  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 192.0.2.11 } ]\n",
                                     limits: limits)
        let reconciler = Reconciler(writer: InMemoryDatapath(limits: limits), limits: limits)
        let snapshot = await reconciler.snapshot()
        XCTAssertEqual(Servability.byAddress(state, snapshot), [try IPAddress("10.0.0.10"): false])
    }
}
