import Balancer
import CLBABI
import Daemon
import Datapath
import Foundation
import LBDAPI
import PacketCraft
import TestSupport
import XCTest

/// `GET /v1/sources` and `lbctl top sources` on the real lbd, after new flows run through
/// its pinned program (BPF_PROG_TEST_RUN shares the maps with the attached program); the
/// `flood:` settings written to flood_config at start and by a reload.
final class SourcesAPITests: XCTestCase {
    private var sandbox: DaemonSandbox!

    override func setUpWithError() throws {
        sandbox = try DaemonSandbox(self)
    }

    private let services = """
          - vip: 10.0.0.10:80/tcp
            backends: [ { address: 192.0.2.11 } ]
          - vip: 10.0.0.20:53/udp
            backends: [ { address: 192.0.2.21 } ]
        """

    private func startDaemon(flood: String) async throws -> DaemonProcess {
        try await sandbox.startDaemon(extra: flood, services: services)
    }

    /// The body's sources without their ages (checked to be recent), and the rest of the body.
    private func get(_ client: LBDClient, _ target: String) async throws -> (status: Int, sources: [String], rest: NSDictionary) {
        let response = try await client.send(.get(target))
        let body = try json(response.body)
        let sources = (body["sources"] as? [NSDictionary] ?? []).map { source in
            let age = source["last_seen_age_s"] as? Double ?? -1
            XCTAssertTrue((0...60).contains(age), "age \(age)")
            return ["vip", "prefix", "new_flows", "refused", "interval_new_flows"].map { "\(source[$0] ?? "-")" }.joined(separator: " ")
        }
        let rest = body.mutableCopy() as! NSMutableDictionary
        rest.removeObject(forKey: "sources")
        return (response.status, sources, rest)
    }

    func testTheReportRanksPrefixesPerVIPFromThePinnedTable() async throws {
        let daemon = try await startDaemon(flood: "flood: { per_source_new_flows: 1000, source_prefix_v4: 16 }\n")
        let datapath = try sandbox.openPins()
        let written = try XCTUnwrap(try datapath.floodConfig.lookup(key: 0))
        XCTAssertEqual([written.per_source_new_flows, UInt32(written.prefix_v4), UInt32(written.prefix_v6),
                        written.new_flows_per_cpu], [1000, 16, 64, 125_000])
        var frames: [[UInt8]] = []
        frames += (1...5).map { clientFrame(client: "198.18.0.\($0)", to: "10.0.0.10", port: 80, proto: Packet.tcp, sport: 40000) }
        frames += (1...2).map { clientFrame(client: "198.18.200.\($0)", to: "10.0.0.10", port: 80, proto: Packet.tcp, sport: 40000) }
        frames += (1...3).map { clientFrame(client: "198.19.0.1", to: "10.0.0.10", port: 80, proto: Packet.tcp, sport: 40000 + UInt16($0)) }
        frames.append(clientFrame(client: "198.18.0.9", to: "10.0.0.20", port: 53, proto: Packet.udp, sport: 5353))
        for packet in frames {
            XCTAssertEqual(try datapath.program.testRun(frame: packet).action, 3, "XDP_TX")
        }

        let client = LBDClient(socketPath: sandbox.socket)
        let all = try await get(client, "/v1/sources")
        XCTAssertEqual(all.status, 200)
        XCTAssertEqual(all.sources, [
            "10.0.0.10:80/tcp 198.18.0.0/16 7 0 -",
            "10.0.0.10:80/tcp 198.19.0.0/16 3 0 -",
            "10.0.0.20:53/udp 198.18.0.0/16 1 0 -",
        ])
        XCTAssertEqual(all.rest, ["seconds": 0, "tracked": 3, "capacity": 16384])
        let grouped = try await get(client, "/v1/sources?vip=10.0.0.10%3A80%2Ftcp&prefix_v4=8&limit=1")
        XCTAssertEqual(grouped.sources, ["10.0.0.10:80/tcp 198.0.0.0/8 10 0 -"])
        // A longer prefix than the datapath groups by shows the datapath's.
        let finer = try await get(client, "/v1/sources?vip=10.0.0.20:53/udp&prefix_v4=32")
        XCTAssertEqual(finer.sources, ["10.0.0.20:53/udp 198.18.0.0/16 1 0 -"])
        // Over an interval without new flows: nothing opened any.
        let quiet = try await get(client, "/v1/sources?seconds=1")
        XCTAssertEqual(quiet.sources, [])
        XCTAssertEqual(quiet.rest, ["seconds": 1, "tracked": 3, "capacity": 16384])

        for (target, status, error) in [
            ("/v1/sources?vip=10.0.0.99:80/tcp", 404, "VIP 10.0.0.99:80/tcp is not installed"),
            ("/v1/sources?seconds=11", 400, "seconds must be an integer from 0 to 10, not '11'"),
            ("/v1/sources?prefix_v4=33", 400, "prefix_v4 must be an integer from 1 to 32, not '33'"),
            ("/v1/sources?limit=0", 400, "limit must be an integer from 1 to 1000, not '0'"),
        ] {
            let response = try await client.send(.get(target))
            XCTAssertEqual(response.status, status, target)
            XCTAssertEqual(try json(response.body), ["error": error], target)
        }

        // lbctl, the binary, against this lbd: the table (ages aside) and exit codes.
        let top = try runProcess(try LbctlBinary.path, ["--socket", sandbox.socket, "top", "sources", "--seconds", "0"])
        XCTAssertEqual(top.status, 0, top.stderr)
        XCTAssertEqual(top.stdout.replacingOccurrences(of: #" +\d+s\n"#, with: "  AGE\n", options: .regularExpression), """
            new flows since each prefix was first tracked; 3 of 16384 source prefixes tracked
            VIP               PREFIX         TOTAL  REFUSED  LAST
            10.0.0.10:80/tcp  198.18.0.0/16      7        0  AGE
            10.0.0.10:80/tcp  198.19.0.0/16      3        0  AGE
            10.0.0.20:53/udp  198.18.0.0/16      1        0  AGE

            """)
        let unknown = try runProcess(try LbctlBinary.path, ["--socket", sandbox.socket, "top", "sources", "10.0.0.99:80/tcp"])
        XCTAssertEqual(unknown, ProcessOutput(stdout: "", stderr: "lbctl: VIP 10.0.0.99:80/tcp is not installed\n", status: 1))

        // A reload writes the new flood settings.
        try writeDaemonConfig(to: sandbox.directory + "/lbd.yaml", network: sandbox.network, socket: sandbox.socket,
                              directory: sandbox.directory, pins: sandbox.pins,
                              limits: DaemonSandbox.limitsYAML, services: services, extra: "flood: { source_prefix_v6: 48, new_flows_per_cpu: 0 }\n")
        let reload = try await client.send(.post("/v1/reload", json: ""))
        XCTAssertEqual(reload.status, 200, reload.text)
        let changed = try XCTUnwrap(try json(reload.body)["changed"] as? [String])
        XCTAssertEqual(changed, ["flood.per_source_new_flows 1000 -> 0", "flood.source_prefix_v4 16 -> 24",
                                 "flood.source_prefix_v6 64 -> 48", "flood.new_flows_per_cpu 125000 -> 0"])
        let reloaded = try XCTUnwrap(try datapath.floodConfig.lookup(key: 0))
        XCTAssertEqual([reloaded.per_source_new_flows, UInt32(reloaded.prefix_v4), UInt32(reloaded.prefix_v6),
                        reloaded.new_flows_per_cpu], [0, 24, 48, 0])

        // Without a limit the datapath counts only while a window is open.
        XCTAssertEqual(reloaded.counting, 0)
        let uncounted = clientFrame(client: "203.0.113.1", to: "10.0.0.10", port: 80, proto: Packet.tcp, sport: 40000)
        XCTAssertEqual(try datapath.program.testRun(frame: uncounted).action, 3, "XDP_TX")
        let socket = sandbox.socket
        let window = Task { try await LBDClient(socketPath: socket).send(.get("/v1/sources?seconds=3")) }
        try? await waitFor("counting on", every: .milliseconds(20)) { try datapath.floodConfig.lookup(key: 0)?.counting != 0 }
        XCTAssertEqual(try datapath.floodConfig.lookup(key: 0)?.counting, 1, "counting on while the window is open")
        for sport in UInt16(40001)...40002 {
            let counted = clientFrame(client: "203.0.113.2", to: "10.0.0.10", port: 80, proto: Packet.tcp, sport: sport)
            XCTAssertEqual(try datapath.program.testRun(frame: counted).action, 3, "XDP_TX")
        }
        let response = try await window.value
        XCTAssertEqual(response.status, 200, response.text)
        let opened = try XCTUnwrap(try json(response.body)["sources"] as? [NSDictionary])
        // The SYN before the window is in neither count.
        XCTAssertEqual(opened.map { source in ["vip", "prefix", "new_flows", "interval_new_flows"].map { "\(source[$0] ?? "-")" } },
                       [["10.0.0.10:80/tcp", "203.0.113.0/24", "2", "2"]])
        XCTAssertEqual(try datapath.floodConfig.lookup(key: 0)?.counting, 0, "counting off after the last window")
        let exitStatus = try await daemon.stop(SIGTERM)
        XCTAssertEqual(exitStatus, 0)
    }
}
