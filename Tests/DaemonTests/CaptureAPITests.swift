import Balancer
import CLBABI
import Daemon
import Datapath
import Foundation
import LBDAPI
import XCTest

/// `POST /v1/capture` on the real lbd: bounds refused, one capture at a time, the flag
/// off again when a capture ends and when lbd starts over one left on.
final class CaptureAPITests: XCTestCase {
    private var sandbox: DaemonSandbox!
    private let services = """
          - vip: 10.0.0.10:80/tcp
            backends: [ { address: 192.0.2.11 } ]
        """

    override func setUpWithError() throws {
        sandbox = try DaemonSandbox(self)
    }

    private func enabled(_ datapath: BalancerDatapath) throws -> UInt32? {
        try datapath.captureConfig.lookup(key: 0)?.enabled
    }

    func testCapturesAreBoundedAloneAndAlwaysTurnedOff() async throws {
        let daemon = try await sandbox.startDaemon(services: services)
        let datapath = try sandbox.openPins()
        let client = LBDClient(socketPath: sandbox.socket)
        for (target, status, error) in [
            ("/v1/capture?count=10001", 400, "count must be an integer from 1 to 10000, not '10001'"),
            ("/v1/capture?seconds=61", 400, "seconds must be an integer from 1 to 60, not '61'"),
            ("/v1/capture?snaplen=513", 400, "snaplen must be an integer from 64 to 512, not '513'"),
            ("/v1/capture?verdict=tx,lost", 400, "unknown verdict 'lost': expected tx, pass, drop, miss or icmp"),
            ("/v1/capture?vip=10.0.0.99:80/tcp", 404, "VIP 10.0.0.99:80/tcp is not installed"),
        ] {
            let response = try await client.send(.post(target, json: ""))
            XCTAssertEqual(response.status, status, target)
            XCTAssertEqual(try json(response.body), ["error": error], target)
        }
        XCTAssertEqual(try enabled(datapath), 0)

        // A capture of 1 s without traffic: an empty pcap file, the flag on meanwhile and
        // off after; a second request meanwhile is refused.
        let socket = sandbox.socket
        let first = Task { try await LBDClient(socketPath: socket).send(.post("/v1/capture?seconds=2&vip=10.0.0.10:80/tcp", json: "")) }
        try await daemon.waitForOutput("capture started", count: 1)
        let flag = try XCTUnwrap(try datapath.captureConfig.lookup(key: 0))
        XCTAssertEqual([flag.enabled, flag.vip, flag.verdicts, flag.sample, flag.snaplen], [1, 0, 31, 1, 256])
        let second = try await client.send(.post("/v1/capture?seconds=1", json: ""))
        XCTAssertEqual(second.status, 409)
        XCTAssertEqual(try json(second.body), ["error": "a capture is already running; one at a time"])
        let pcap = try await first.value
        XCTAssertEqual(pcap.status, 200)
        XCTAssertEqual(pcap.header("content-type"), "application/vnd.tcpdump.pcap")
        XCTAssertEqual(pcap.header("content-length"), "24", "the file header alone")
        XCTAssertEqual(try enabled(datapath), 0)

        // lbd killed with a capture on: the next lbd turns it off.
        try datapath.captureConfig.update(key: 0, value: lb_capture_config(enabled: 1, vip: 0, verdicts: 1, sample: 1, snaplen: 64))
        _ = try await daemon.stop(SIGKILL)
        let restarted = try await sandbox.startDaemon(services: services)
        XCTAssertEqual(try enabled(datapath), 0)
        let exitStatus = try await restarted.stop(SIGTERM)
        XCTAssertEqual(exitStatus, 0)
    }
}
