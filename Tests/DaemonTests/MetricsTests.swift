import Balancer
import Daemon
import Datapath
import Foundation
import LBDAPI
import PacketCraft
import TestSupport
import XCTest

/// `GET /metrics` of the real lbd after a known packet sequence run through its pinned
/// program (BPF_PROG_TEST_RUN shares the maps with the attached program): exact counter
/// values per VIP, per backend and per datapath outcome; exactly the metrics
/// docs/metrics.md lists; nothing but /metrics served.
final class MetricsTests: XCTestCase {
    private var sandbox: DaemonSandbox!

    override func setUpWithError() throws {
        sandbox = try DaemonSandbox(self)
    }

    /// With `announce:` (no BIRD listens: the announcement series exist all the same).
    private func startDaemon() async throws -> DaemonProcess {
        try await sandbox.startDaemon(extra: """
            announce: { bird_socket: \(sandbox.directory)/bird.ctl, routes_file: \(sandbox.directory)/bird/vips.conf, drain_time: 0s }

            """, services: """
                                - vip: 10.0.0.10:80/tcp
                                  backends: [ { address: 192.0.2.11 } ]
                                - vip: 10.0.0.20:53/udp
                                  backends: [ { address: 192.0.2.21 } ]
                                - vip: 10.0.0.30:80/tcp
                                  health_check: { type: tcp, start_state: up }
                                  backends: [ { address: 192.0.2.31 } ]
                              """)
    }

    /// `curl` in lbd's namespace, where metrics_listen's 127.0.0.1:9750 is.
    private func get(_ path: String, method: String = "GET") throws -> (status: Int, body: String) {
        let output = try shell("ip", "netns", "exec", sandbox.network.namespace, "curl", "-s", "-X", method,
                               "-w", "\n%{http_code}", "http://127.0.0.1:9750\(path)")
        let status = Int(output.split(separator: "\n").last ?? "") ?? 0
        return (status, String(output[..<(output.lastIndex(of: "\n") ?? output.endIndex)]))
    }

    /// Sample lines as `name{labels}` → value.
    private func samples(_ exposition: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in exposition.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    func testCountersAfterAKnownPacketSequence() async throws {
        let daemon = try await startDaemon()
        let datapath = try sandbox.openPins()
        let tcp = (1...3).map { clientFrame(client: "198.18.0.\($0)", to: "10.0.0.10", port: 80, proto: Packet.tcp) }
        let udp = (1...2).map { clientFrame(client: "198.18.1.\($0)", to: "10.0.0.20", port: 53, proto: Packet.udp) }
        let other = clientFrame(client: "198.18.2.1", to: "10.0.0.99", port: 80, proto: Packet.tcp)
        let fragment = clientFrame(client: "198.18.3.1", to: "10.0.0.10", port: 80, proto: Packet.tcp, flagsAndOffset: 0x2000)
        for packet in tcp + udp + [other, fragment] {
            _ = try datapath.program.testRun(frame: packet)
        }
        let scrape = try get("/metrics")
        XCTAssertEqual(scrape.status, 200)
        try promtoolCheckMetrics(scrape.body)
        let values = samples(scrape.body)
        // Bytes are the IP packets' as the client sent them: no Ethernet header, no encapsulation.
        let ipBytes = { (frames: [[UInt8]]) in Double(frames.map { $0.count - 14 }.reduce(0, +)) }
        let tcpBytes = ipBytes(tcp), udpBytes = ipBytes(udp)
        let expected: [String: Double] = [
            #"lbd_vip_packets_total{vip="10.0.0.10:80/tcp"}"#: 3,
            #"lbd_vip_bytes_total{vip="10.0.0.10:80/tcp"}"#: tcpBytes,
            #"lbd_vip_packets_total{vip="10.0.0.20:53/udp"}"#: 2,
            #"lbd_vip_bytes_total{vip="10.0.0.20:53/udp"}"#: udpBytes,
            #"lbd_backend_packets_total{backend="192.0.2.11"}"#: 3,
            #"lbd_backend_bytes_total{backend="192.0.2.11"}"#: tcpBytes,
            #"lbd_backend_packets_total{backend="192.0.2.21"}"#: 2,
            #"lbd_backend_bytes_total{backend="192.0.2.21"}"#: udpBytes,
            "lbd_datapath_packets_total": 7,
            #"lbd_xdp_actions_total{action="tx"}"#: 5,
            #"lbd_xdp_actions_total{action="pass"}"#: 1,
            #"lbd_xdp_actions_total{action="drop"}"#: 1,
            "lbd_conntrack_new_flows_total": 5,
            "lbd_conntrack_evictions_total": 0,
            "lbd_conntrack_syn_bucket_full_total": 0,
            #"lbd_conntrack_flood_limited_total{packet="syn"}"#: 0,
            #"lbd_conntrack_flood_limited_total{packet="other"}"#: 0,
            "lbd_conntrack_entries": 5,
            "lbd_conntrack_capacity": 4096,
            #"lbd_vip_syns_total{vip="10.0.0.10:80/tcp"}"#: 3,
            #"lbd_vip_new_flows_total{vip="10.0.0.10:80/tcp"}"#: 3,
            #"lbd_vip_conn_misses_total{vip="10.0.0.10:80/tcp"}"#: 0,
            #"lbd_vip_syns_total{vip="10.0.0.20:53/udp"}"#: 0,
            #"lbd_vip_new_flows_total{vip="10.0.0.20:53/udp"}"#: 2,
            #"lbd_vip_conn_misses_total{vip="10.0.0.20:53/udp"}"#: 2,
            #"lbd_vip_syns_total{vip="10.0.0.30:80/tcp"}"#: 0,
            #"lbd_datapath_drops_total{reason="fragment"}"#: 1,
            #"lbd_datapath_drops_total{reason="no_backend"}"#: 0,
            "lbd_datapath_parse_errors_total": 0,
            #"lbd_datapath_attached{mode="native"}"#: 1,
            #"lbd_datapath_attached{mode="generic"}"#: 0,
            #"lbd_backend_up{vip="10.0.0.10:80/tcp",backend="192.0.2.11"}"#: 1,
            #"lbd_vip_backends_up{vip="10.0.0.10:80/tcp"}"#: 1,
            #"lbd_vip_degraded{vip="10.0.0.10:80/tcp"}"#: 0,
            #"lbd_api_edits_total{result="ok"}"#: 0,
        ]
        for (series, value) in expected.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(values[series], value, series)
        }

        // The status says the same: the table's count (the scrape's, reused) and per-VIP flows.
        let client = LBDClient(socketPath: sandbox.socket)
        let status = try json(try await client.send(.get("/v1/status")).body)
        let table = try XCTUnwrap(status["connection_table"] as? NSDictionary)
        XCTAssertEqual(table["entries"] as? Int, 5)
        XCTAssertEqual(table["exact"] as? Bool, true)
        XCTAssertEqual(table["capacity"] as? Int, 4096)
        XCTAssertEqual(table["utilization"] as? Double, 5.0 / 4096)
        let services = try XCTUnwrap(status["services"] as? [NSDictionary])
        XCTAssertEqual(services.map { [$0["vip"] as? String, "\($0["syns"] ?? "-")", "\($0["new_flows"] ?? "-")",
                                       "\($0["conn_misses"] ?? "-")"] },
                       [["10.0.0.10:80/tcp", "3", "3", "0"], ["10.0.0.20:53/udp", "0", "2", "2"],
                        ["10.0.0.30:80/tcp", "0", "0", "0"]])

        // An edit through the API is counted, and a refused one as refused.
        _ = try await client.send(.post("/v1/edit", json: #"{"op":"drain","vip":"10.0.0.10:80/tcp","address":"192.0.2.11"}"#))
        _ = try await client.send(.post("/v1/edit", json: #"{"op":"remove_vip","vip":"10.9.9.9:80/tcp"}"#))
        let after = samples(try get("/metrics").body)
        XCTAssertEqual(after[#"lbd_api_edits_total{result="ok"}"#], 1)
        XCTAssertEqual(after[#"lbd_api_edits_total{result="refused"}"#], 1)
        XCTAssertEqual(after[#"lbd_state_writes_total{result="ok"}"#], 1)
        XCTAssertEqual(after[#"lbd_vip_backends_up{vip="10.0.0.10:80/tcp"}"#], 0)
        XCTAssertEqual(after[#"lbd_vip_degraded{vip="10.0.0.10:80/tcp"}"#], 1)
        let exitStatus = try await daemon.stop(SIGTERM)
        XCTAssertEqual(exitStatus, 0)
    }

    /// The metric families served are exactly those docs/metrics.md describes.
    func testTheCatalogueIsWhatIsServed() async throws {
        let daemon = try await startDaemon()
        let served = Set(try get("/metrics").body.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("# TYPE ") else { return nil }
            return line.split(separator: " ").dropFirst(2).first.map(String.init)
        })
        let catalogue = try MetricCatalogue.load().names
        XCTAssertEqual(served.subtracting(catalogue), [], "served, not in docs/metrics.md")
        XCTAssertEqual(catalogue.subtracting(served), [], "in docs/metrics.md, not served")
        let exitStatus = try await daemon.stop(SIGTERM)
        XCTAssertEqual(exitStatus, 0)
    }

    func testOnlyGETMetricsIsServed() async throws {
        let daemon = try await startDaemon()
        XCTAssertEqual(try get("/").status, 404)
        XCTAssertEqual(try get("/v1/status").status, 404)
        XCTAssertEqual(try get("/metrics", method: "POST").status, 405)
        let exitStatus = try await daemon.stop(SIGTERM)
        XCTAssertEqual(exitStatus, 0)
    }
}
