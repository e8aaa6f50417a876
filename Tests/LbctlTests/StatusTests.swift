@testable import LbctlCore
import XCTest

/// `lbctl status` and `lbctl vip list`: the tables and `--json`.
final class StatusTests: LbctlTestCase {
    func testStatusTableShowsEveryVIPAndBackend() {
        daemon.answer("GET", "/v1/status", .json(200, Fixtures.status))
        XCTAssertEqual(lbctl("status"), success("""
            datapath: native XDP on eth0, adopted from pinned maps

            VIP                     HASH    BACKENDS  UP  MIN UP  STATE       PACKETS     BYTES
            10.0.0.10:80/tcp        5tuple         3   1       2  degraded    1500000   1.5 GiB
              ADDRESS       WEIGHT  HEALTH     FOR  DRAINED   SHARE  PACKETS      BYTES  LAST CHECK
              192.0.2.11       100  up          3h  no       100.0%  1000000    1.0 GiB  status 200 (1.2 ms)
              192.0.2.12       100  down       12m  no         0.0%   500000  512.0 MiB  connection refused (0.3 ms)
              192.0.2.13        50  up         42s  yes        0.0%        0        0 B  status 200 (0.9 ms)

            10.0.0.20:53/udp        5tuple         0   0       1  no_backend        7     512 B

            [2001:db8::10]:443/tcp  source         2   2       1  ok               12  16.0 EiB
              ADDRESS       WEIGHT  HEALTH     FOR  DRAINED   SHARE  PACKETS      BYTES  LAST CHECK
              2001:db8::21     200  unchecked    -  no        66.7%        8     1000 B  -
              2001:db8::22     100  unchecked    -  no        33.3%        4    1.5 KiB  -

            """))
        XCTAssertEqual(daemon.requests, [.init(method: "GET", target: "/v1/status", contentType: nil, body: "")])
    }

    func testStatusWithoutVIPs() {
        daemon.answer("GET", "/v1/status", .json(200, """
            {"services":[],"datapath":{"attached":null,"interface":"eth1","adopted":false}}
            """))
        XCTAssertEqual(lbctl("status"), success("datapath: not attached (interface eth1)\n\nno VIPs\n"))
    }

    func testStatusHeaderShowsTheConnectionTableWhenLbdReportsIt() {
        daemon.answer("GET", "/v1/status", .json(200, """
            {"services":[],"datapath":{"attached":"native","interface":"eth1","adopted":false},
             "connection_table":{"entries":734003,"exact":false,"capacity":1048576,"utilization":0.7000017166137695,
                                 "counted_at":"2026-12-06T09:45:00Z"}}
            """))
        XCTAssertEqual(lbctl("status"), success("""
            datapath: native XDP on eth1
            connections: ~734003 of 1048576 table entries (70.0%)

            no VIPs

            """))
    }

    /// lbd indents its answers with sorted keys; `--json` prints them as they came,
    /// every counter and fraction exactly as lbd wrote it.
    func testStatusJSONIsLbdsAnswerByteForByte() {
        daemon.answer("GET", "/v1/status", .json(200, Fixtures.status + "\n"))
        XCTAssertEqual(lbctl("status", "--json"), success(Fixtures.status + "\n"))
        // The newline the prompt needs, when lbd's answer has none.
        daemon.answer("GET", "/v1/status", .json(200, Fixtures.status))
        XCTAssertEqual(lbctl("status", "--json"), success(Fixtures.status + "\n"))
    }

    func testStatusThatIsNotTheContractIsAnError() {
        daemon.answer("GET", "/v1/status", .json(200, #"{"services":[{"vip":"10.0.0.10:80/tcp"}]}"#))
        XCTAssertEqual(lbctl("status"), failure(1, """
            lbctl: lbd's answer to /v1/status is not what lbctl expects: services[0]: missing key 'hash'

            """))
        XCTAssertEqual(lbctl("status", "--json"), failure(1, """
            lbctl: lbd's answer to /v1/status is not what lbctl expects: services[0]: missing key 'hash'

            """))
        daemon.answer("GET", "/v1/status", .json(200, #"{"services":[}"#))
        XCTAssertEqual(lbctl("status", "--json"),
                       failure(1, "lbctl: lbd's answer to /v1/status is not what lbctl expects: not JSON\n"))
    }

    func testVIPListTable() {
        daemon.answer("GET", "/v1/services", .json(200, Fixtures.services))
        XCTAssertEqual(lbctl("vip", "list"), success("""
            VIP                     HASH    UDP TIMEOUT  BACKENDS  DRAINED
            10.0.0.10:80/tcp        5tuple  -                   3        1
            10.0.0.20:53/udp        5tuple  30s                 0        0
            [2001:db8::10]:443/tcp  source  -                   1        0

            """))
        daemon.answer("GET", "/v1/services", .json(200, #"{"services":[]}"#))
        XCTAssertEqual(lbctl("vip", "list"), success("no VIPs\n"))
    }

    func testVIPListJSONIsLbdsAnswerByteForByte() {
        daemon.answer("GET", "/v1/services", .json(200, Fixtures.services + "\n"))
        XCTAssertEqual(lbctl("vip", "list", "--json"), success(Fixtures.services + "\n"))
        XCTAssertEqual(daemon.requests.map(\.target), ["/v1/services"])
        daemon.answer("GET", "/v1/services", .json(200, #"{"services":[{"vip":"10.0.0.10:80/tcp"}]}"#))
        XCTAssertEqual(lbctl("vip", "list", "--json"), failure(1, """
            lbctl: lbd's answer to /v1/services is not what lbctl expects: services[0]: missing key 'hash'

            """))
    }
}
