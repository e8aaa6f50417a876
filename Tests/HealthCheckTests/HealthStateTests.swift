import Foundation
import HealthCheck
import XCTest

/// Rise/fall hysteresis on the pure state: transitions exactly at the thresholds,
/// runs reset by one result of the other kind.
final class HealthStateTests: XCTestCase {
    private let epoch = Date(timeIntervalSince1970: 1_800_000_000)

    /// `S` success, `F` failure; the expected transitions by index of the result that
    /// completes them.
    private func assertTransitions(
        _ script: String, rise: Int, fall: Int, start: HealthStatus, expected: [Int: HealthStatus],
        file: StaticString = #filePath, line: UInt = #line
    ) {
        var state = HealthState(rise: rise, fall: fall, start: start, since: epoch)
        var seen: [Int: HealthStatus] = [:]
        for (index, letter) in script.enumerated() {
            if let transition = state.record(result(letter == "S", at: index)) {
                seen[index] = transition.to
                XCTAssertEqual(transition.consecutive, transition.to == .up ? rise : fall, file: file, line: line)
            }
        }
        XCTAssertEqual(seen, expected, "\(script) rise \(rise) fall \(fall) from \(start)", file: file, line: line)
    }

    func testRiseAndFallThresholdsAreExact() {
        assertTransitions("SFSSFFSFFF", rise: 2, fall: 3, start: .down, expected: [3: .up, 9: .down])
        assertTransitions("SFSFSFSF", rise: 2, fall: 2, start: .down, expected: [:])
        assertTransitions("FFSFFF", rise: 2, fall: 3, start: .up, expected: [5: .down])
        assertTransitions("SSSS", rise: 5, fall: 1, start: .down, expected: [:])
        assertTransitions("SFSF", rise: 1, fall: 1, start: .down, expected: [0: .up, 1: .down, 2: .up, 3: .down])
        assertTransitions("FFFFFSS", rise: 2, fall: 3, start: .up, expected: [2: .down, 6: .up])
    }

    /// A run longer than the threshold changes state once; counts keep counting.
    func testCountsContinuePastTheThreshold() {
        var state = HealthState(rise: 2, fall: 3, start: .down, since: epoch)
        let transitions = (0..<6).compactMap { state.record(result(true, at: $0)) }
        XCTAssertEqual(transitions.count, 1)
        XCTAssertEqual(state.status, .up)
        XCTAssertEqual(state.consecutiveSuccesses, 6)
        XCTAssertEqual(state.consecutiveFailures, 0)
        XCTAssertEqual(state.checks, 6)
        _ = state.record(result(false, at: 6))
        XCTAssertEqual([state.consecutiveSuccesses, state.consecutiveFailures, state.failures], [0, 1, 1])
        XCTAssertEqual(state.status, .up)
    }

    /// The transition carries its reason, time and latency; `since` moves with it.
    func testTransitionCarriesReasonTimeAndLatency() throws {
        var state = HealthState(rise: 1, fall: 2, start: .up, since: epoch)
        XCTAssertNil(state.record(result(false, at: 1)))
        XCTAssertEqual(state.since, epoch)
        let timeout = ProbeResult(.failure(.timeout(after: .milliseconds(500), during: .awaitingResponse)),
                                  latency: .milliseconds(500), at: epoch + 2)
        let transition = try XCTUnwrap(state.record(timeout))
        XCTAssertEqual(transition.from, .up)
        XCTAssertEqual(transition.to, .down)
        XCTAssertEqual(transition.at, epoch + 2)
        XCTAssertEqual(transition.result.latency, .milliseconds(500))
        XCTAssertEqual(transition.reason, "timeout after 500 ms (awaiting response)")
        XCTAssertEqual(transition.reasonKind, "timeout")
        XCTAssertEqual(transition.description,
                       "down after 2 consecutive failures: timeout after 500 ms (awaiting response) (500 ms)")
        XCTAssertEqual(state.since, epoch + 2)
        XCTAssertEqual(state.lastResult, timeout)

        let up = try XCTUnwrap(state.record(
            ProbeResult(.success(.status(200)), latency: .microseconds(1234), at: epoch + 3)))
        XCTAssertEqual(up.description, "up after 1 success: status 200 (1.2 ms)")
        XCTAssertEqual(up.reasonKind, "success")
    }

    func testServiceHealthAgainstQuorum() {
        let cases: [([HealthStatus], Int, ServiceHealth.Level)] = [
            ([.up, .up, .down], 2, .healthy),
            ([.up, .down, .down], 2, .degraded),
            ([.down, .down], 1, .down),
            ([], 1, .down),
            ([.up], 1, .healthy),
        ]
        for (statuses, minUp, level) in cases {
            XCTAssertEqual(ServiceHealth(statuses: statuses, minUp: minUp).level, level, "\(statuses) min_up \(minUp)")
        }
        XCTAssertEqual(ServiceHealth(statuses: [.up, .down, .down, .down], minUp: 2).description,
                       "degraded: 1 of 4 backends up, min_up 2")
    }

    private func result(_ success: Bool, at index: Int) -> ProbeResult {
        ProbeResult(success ? .success(.connected) : .failure(.connectionRefused), latency: .microseconds(300),
                    at: epoch + TimeInterval(index))
    }
}
