@testable import LbctlCore
import XCTest

/// `lbctl backend drain VIP ADDRESS --wait [--timeout D]`: the drain, then lbd's status
/// asked until the backend has no active flow in the VIP, or the timeout.
final class DrainWaitTests: LbctlTestCase {
    private let drainRequest = FakeDaemon.Request(
        method: "POST", target: "/v1/edit", contentType: "application/json",
        body: #"{"address":"192.0.2.11","op":"drain","vip":"10.0.0.10:80/tcp"}"#)
    private let statusRequest = FakeDaemon.Request(method: "GET", target: "/v1/status", contentType: nil, body: "")

    /// lbd's status with `flows` active flows on 192.0.2.11 in 10.0.0.10:80/tcp, counted
    /// after the drain (a time to come), or before it (`stale`).
    private func status(activeFlows flows: Int, stale: Bool = false) -> FakeDaemon.Answer {
        let countedAt = stale ? "2020-01-01T00:00:00.000Z" : "2999-01-01T00:00:00.000Z"
        return .json(200, """
            {"services":[{"vip":"10.0.0.10:80/tcp","hash":"5tuple","state":"ok","backends_up":1,"min_up":1,
              "panic_threshold":50,"panic":false,"packets":0,"bytes":0,"syns":0,"new_flows":0,"conn_misses":0,"backends":[
                {"address":"192.0.2.12","weight":100,"drained":false,"health":"unchecked","ring_slots":65537,"ring_share":1.0,
                 "packets":0,"bytes":0,"active_flows":9},
                {"address":"192.0.2.11","weight":100,"drained":true,"health":"unchecked","ring_slots":0,"ring_share":0.0,
                 "packets":0,"bytes":0,"active_flows":\(flows)}]}],
             "datapath":{"attached":"native","interface":"eth0","adopted":false},"flows_counted_at":"\(countedAt)"}
            """)
    }

    func testWaitReturnsOnceTheBackendHasNoActiveFlowAndSaysHowLongItTook() throws {
        daemon.answer("POST", "/v1/edit", .json(200, #"{"changed":true,"ok":true}"#))
        daemon.answer("GET", "/v1/status", status(activeFlows: 3), status(activeFlows: 1), status(activeFlows: 0))
        let result = lbctl("backend", "drain", "10.0.0.10:80/tcp", "192.0.2.11", "--wait")
        XCTAssertEqual(result.exitCode, 0, result.standardError)
        XCTAssertEqual(result.standardError, "")
        let lines = result.standardOutput.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 3, result.standardOutput)
        XCTAssertEqual(lines.first, "drained 192.0.2.11 in 10.0.0.10:80/tcp")
        let took = try XCTUnwrap(lines.dropFirst().first)
        XCTAssertNotNil(took.wholeMatch(of: /no active flow left on 192\.0\.2\.11 in 10\.0\.0\.10:80\/tcp after \d+\.\ds/), "\(took)")
        XCTAssertEqual(daemon.requests, [drainRequest, statusRequest, statusRequest, statusRequest])
    }

    /// lbd reuses a count for half a second: a zero counted before the drain took effect
    /// proves nothing, and is asked again.
    func testACountTakenBeforeTheDrainIsNotTrusted() {
        daemon.answer("POST", "/v1/edit", .json(200, #"{"changed":true,"ok":true}"#))
        daemon.answer("GET", "/v1/status", status(activeFlows: 0, stale: true), status(activeFlows: 4), status(activeFlows: 0))
        XCTAssertEqual(lbctl("backend", "drain", "10.0.0.10:80/tcp", "192.0.2.11", "--wait").exitCode, 0)
        XCTAssertEqual(daemon.requests, [drainRequest, statusRequest, statusRequest, statusRequest])
    }

    func testWaitTimesOutWithExitSevenAndWhatIsLeft() {
        daemon.answer("POST", "/v1/edit", .json(200, #"{"changed":true,"ok":true}"#))
        daemon.answer("GET", "/v1/status", status(activeFlows: 2))
        XCTAssertEqual(lbctl("backend", "drain", "10.0.0.10:80/tcp", "192.0.2.11", "--wait", "--timeout", "1s"),
                       LbctlResult(exitCode: 7, standardOutput: "drained 192.0.2.11 in 10.0.0.10:80/tcp\n",
                                   standardError: "lbctl: timed out after 1s: 2 active flows left on 192.0.2.11 "
                                       + "in 10.0.0.10:80/tcp\n"))
        XCTAssertGreaterThan(daemon.requests.filter { $0 == statusRequest }.count, 1)
    }

    func testWithoutWaitNothingIsAskedAfterTheDrain() {
        daemon.answer("POST", "/v1/edit", .json(200, #"{"changed":true,"ok":true}"#))
        XCTAssertEqual(lbctl("backend", "drain", "10.0.0.10:80/tcp", "192.0.2.11"),
                       success("drained 192.0.2.11 in 10.0.0.10:80/tcp\n"))
        XCTAssertEqual(daemon.requests, [drainRequest])
    }

    func testABadTimeoutIsAUsageErrorAndNothingIsSent() {
        let cases: [([String], String)] = [
            (["--timeout", "5m"], "lbctl: --timeout needs --wait\n"),
            (["--wait", "--timeout", "10"], "lbctl: --timeout: bad duration '10': expected a whole number and a unit "
                + "(ms, s, m, h), e.g. 30s\n"),
            (["--wait", "--timeout", "0s"], "lbctl: --timeout: bad duration '0s': expected more than 0\n"),
        ]
        for (options, error) in cases {
            XCTAssertEqual(lbctl(["backend", "drain", "10.0.0.10:80/tcp", "192.0.2.11"] + options), failure(2, error), "\(options)")
        }
        XCTAssertEqual(daemon.requests, [])
    }

    /// The backend removed meanwhile, or an lbd that does not count flows: exit 1, with why.
    func testWaitStopsWhenLbdCannotAnswerIt() {
        daemon.answer("POST", "/v1/edit", .json(200, #"{"changed":true,"ok":true}"#))
        daemon.answer("GET", "/v1/status", .json(200, """
            {"services":[],"datapath":{"attached":"native","interface":"eth0","adopted":false}}
            """))
        XCTAssertEqual(lbctl("backend", "drain", "10.0.0.10:80/tcp", "192.0.2.11", "--wait"),
                       LbctlResult(exitCode: 1, standardOutput: "drained 192.0.2.11 in 10.0.0.10:80/tcp\n",
                                   standardError: "lbctl: 10.0.0.10:80/tcp has no backend 192.0.2.11 any more\n"))
        daemon.answer("GET", "/v1/status", .json(200, Fixtures.status.replacingOccurrences(
            of: #""active_flows":1200,"#, with: "")))
        XCTAssertEqual(lbctl("backend", "drain", "10.0.0.10:80/tcp", "192.0.2.11", "--wait").standardError,
                       "lbctl: lbd does not report active flows (an older lbd?): cannot wait for the drain\n")
    }
}
