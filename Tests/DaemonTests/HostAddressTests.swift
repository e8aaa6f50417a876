import Balancer
@testable import Daemon
import Foundation
import Logging
import NIOHTTP1
import TestDoubles
import XCTest

/// A VIP on one of the host's own addresses takes the host's own traffic (a port-0 VIP:
/// its SSH and BGP too), so a new one is refused unless forced (issue #18, item 9).
final class HostAddressTests: XCTestCase {
    func testTheHostsOwnAddressesAreRead() throws {
        let own = HostAddresses.current()
        XCTAssertTrue(own.contains(try IPAddress("127.0.0.1")), "\(own)")
    }

    func testANewVIPOnAHostAddressNeedsForce() async throws {
        let directory = try temporaryDirectory(self)
        let limits = APIHarness.limits
        let store = StateStore(directory: directory + "/state")
        try store.save(DesiredState())
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let datapath = InMemoryDatapath(limits: limits)
        let reconciler = Reconciler(writer: datapath, limits: limits, logger: logger)
        try await reconciler.apply(DesiredState())
        let host = try IPAddress("10.0.0.1")
        let coordinator = EditCoordinator(state: DesiredState(), limits: limits, store: store, reconciler: reconciler,
                                          logger: logger, hostAddresses: { [host] })
        let router = APIRouter(coordinator: coordinator, status: StatusReporter(
            coordinator: coordinator, reconciler: reconciler, readings: InMemoryDatapathReadings(datapath: datapath),
            ringSize: limits.ringSize), logger: logger)
        func post(_ uri: String, _ body: String) async throws -> (Int, String) {
            let response = await router.handle(APIRequest(method: .POST, uri: uri, body: Data(body.utf8)))
            return (Int(response.status.code), String(decoding: response.body, as: UTF8.self))
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: store.path))

        let refused = try await post("/v1/edit", #"{"op":"add_vip","vip":"10.0.0.1:0/tcp"}"#)
        XCTAssertEqual(refused.0, 409)
        XCTAssertEqual(try json(refused.1)["error"] as? String, "VIP 10.0.0.1:0/tcp: 10.0.0.1 is an address of this host; "
            + "a VIP there takes the host's own traffic to every port (SSH, BGP); force it to mean it")
        let file = "services:\n  - vip: 10.0.0.1:443/tcp\n  - vip: 10.0.0.2:443/tcp\n"
        let refusedApply = try await post("/v1/apply?dry_run=0", file)
        XCTAssertEqual(refusedApply.0, 409)
        XCTAssertEqual(try json(refusedApply.1)["error"] as? String, "VIP 10.0.0.1:443/tcp: 10.0.0.1 is an address of "
            + "this host; a VIP there takes the host's own traffic to port 443; force it to mean it")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: store.path)), before, "a refusal changed the state")
        let other = try await post("/v1/edit", #"{"op":"add_vip","vip":"10.0.0.2:0/tcp"}"#)
        XCTAssertEqual(other.0, 200, "another address is not the host's")

        let forced = try await post("/v1/edit", #"{"op":"add_vip","vip":"10.0.0.1:0/tcp","force":true}"#)
        XCTAssertEqual(forced.0, 200, forced.1)
        let forcedApply = try await post("/v1/apply?dry_run=0&force=1", file)
        XCTAssertEqual(forcedApply.0, 200, forcedApply.1)
        // Once in the state, the VIP is not new: later edits need no force.
        let kept = try await post("/v1/apply?dry_run=0", file)
        XCTAssertEqual(kept.0, 200, kept.1)
    }
}
