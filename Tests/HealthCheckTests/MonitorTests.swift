import HealthCheck
import TestSupport
import XCTest

/// The monitor against real servers: hysteresis over the network, sharing of checkers
/// between services, stopping, and what the events carry.
final class MonitorTests: XCTestCase {
    /// Answers 2xx for four requests, then 5xx for four, and so on; the status encodes
    /// the request number (201, 202, …, 505, 506, …), so each transition's reason says
    /// exactly which check completed it.
    func testFlappingServerChangesStateExactlyAtTheThresholds() async throws {
        try await withServer(reply: { n in Reply(status: ((n - 1) / 4).isMultiple(of: 2) ? 200 + n : 500 + n) }) { server in
            let running = RunningMonitor(HealthMonitor())
            let definition = try HealthCheckDefinition(
                type: .http, interval: .milliseconds(50), timeout: .milliseconds(40), rise: 2, fall: 3, jitter: 0,
                http: HTTPCheck(expectStatus: StatusRanges(parsing: "200-299")))
            let target = try HealthTarget(address: "127.0.0.1", servicePort: UInt16(server.port), definition: definition)
            await running.monitor.subscribe(target, subscriber: "vip-a")

            let events = try await running.recorder.waitFor(4)
            await running.stop()
            let summary = events.prefix(4).map { "\($0.transition.to) \($0.transition.consecutive) \($0.transition.reason)" }
            XCTAssertEqual(summary, ["up 2 status 202", "down 3 status 507", "up 2 status 210", "down 3 status 515"])
            XCTAssertTrue(events.allSatisfy { $0.target == target && $0.subscribers == ["vip-a"] })
            let counts = await running.monitor.transitionCounts
            XCTAssertEqual(counts[TransitionCounterKey(to: .up, reason: "success")], 2)
            XCTAssertEqual(counts[TransitionCounterKey(to: .down, reason: "status")], 2)
        }
    }

    /// Two services using one backend with one definition: one stream of checks,
    /// counted at the server, which the last unsubscriber stops.
    func testServicesSharingATargetShareOneChecker() async throws {
        try await withServer { server in
            let running = RunningMonitor(HealthMonitor())
            let interval = Duration.milliseconds(100)
            let port = UInt16(server.port)
            let viaServicePort = try HealthTarget(
                address: "127.0.0.1", servicePort: port,
                definition: .init(type: .http, interval: interval, timeout: .milliseconds(50), jitter: 0))
            let viaCheckPort = try HealthTarget(
                address: "127.0.0.1", servicePort: 443,
                definition: .init(type: .http, port: port, interval: interval, timeout: .milliseconds(50), jitter: 0))
            XCTAssertEqual(viaServicePort, viaCheckPort)
            await running.monitor.subscribe(viaServicePort, subscriber: "vip-a")
            await running.monitor.subscribe(viaCheckPort, subscriber: "vip-b")
            await running.monitor.subscribe(viaCheckPort, subscriber: "vip-b")

            try await waitFor("the first check") { try await server.seen.requests >= 1 }
            let clock = ContinuousClock()
            let first = clock.now
            try await Task.sleep(until: first + interval * 10.5)
            let counted = try await server.seen.requests
            // Checks at 0, 100, ..., 1000 ms: 11 for one checker, 22 if each service had its
            // own; loosely bounded on both sides for a loaded machine.
            print("one shared checker, two services: \(counted) requests at the server in 10.5 intervals")
            XCTAssertTrue((5...15).contains(counted), "\(counted) requests in 10.5 intervals")
            let status = await running.monitor.status(of: viaServicePort)
            XCTAssertEqual(status?.subscribers, ["vip-a", "vip-b"])
            let loops = await running.monitor.runningLoops
            XCTAssertEqual(loops, 1)

            await running.monitor.unsubscribe(viaServicePort, subscriber: "vip-a")
            let afterFirstLeft = try await server.seen.requests
            try await waitFor("checks to go on for the remaining service") {
                try await server.seen.requests >= afterFirstLeft + 2
            }

            await running.monitor.unsubscribe(viaServicePort, subscriber: "vip-b")
            try await waitFor("the checker to stop") { await running.monitor.runningLoops == 0 }
            let atStop = try await server.seen.requests
            try await Task.sleep(for: interval * 3)
            let later = try await server.seen.requests
            XCTAssertLessThanOrEqual(later, atStop + 1, "checks went on after the last unsubscribe")
            let forgotten = await running.monitor.status(of: viaServicePort)
            XCTAssertNil(forgotten)
            await running.stop()
        }
    }

    /// A backend that starts up and refuses connections is reported down with the
    /// reason, the time and the latency; and every result reaches `onResult`.
    func testRefusedBackendIsReportedDownWithItsReason() async throws {
        let refusing = try RefusingPort()
        let results = ResultLog()
        let running = RunningMonitor(HealthMonitor { target, result in Task { await results.add(result) } })
        let target = try HealthTarget(
            address: "127.0.0.1", servicePort: UInt16(refusing.port),
            definition: .init(type: .tcp, interval: .seconds(3), timeout: .seconds(2), fall: 1, jitter: 0,
                              startState: .up))
        let clock = ContinuousClock()
        let subscribed = clock.now
        let initial = await running.monitor.subscribe(target, subscriber: "vip-a")
        XCTAssertEqual(initial.status, .up)
        let event = try await running.recorder.waitFor(1)[0]
        let detection = clock.now - subscribed
        print("refused port detected down after \(detection) (fall 1, first check at once)")
        // The first check runs at once, long before the 3 s interval would bring a second.
        XCTAssertLessThan(detection, .seconds(2))
        XCTAssertEqual(event.transition.reason, "connection refused")
        XCTAssertEqual(event.transition.from, .up)
        XCTAssertLessThan(event.transition.result.latency, .seconds(2))
        XCTAssertLessThanOrEqual(abs(event.transition.at.timeIntervalSinceNow), 1)

        let status = try await XCTUnwrapAsync(await running.monitor.status(of: target))
        XCTAssertEqual(status.status, .down)
        XCTAssertEqual(status.health.since, event.transition.at)
        XCTAssertEqual(status.health.lastResult?.reason, "connection refused")
        try await waitFor("results to be reported") { await results.count >= 1 }
        let health = await running.monitor.serviceHealth(of: "vip-a", minUp: 1)
        XCTAssertEqual(health.level, .down)
        await running.stop()
    }

    /// Cancelling `run()` stops every check at once, closing the sockets of checks in
    /// flight instead of waiting for their timeouts, and finishes the event stream.
    func testCancellingRunStopsEverythingPromptly() async throws {
        try await withServer(reply: { _ in Reply(silent: true) }) { server in
            let running = RunningMonitor(HealthMonitor())
            for rise in 1...3 {
                let definition = try HealthCheckDefinition(
                    type: .http, interval: .seconds(5), timeout: .seconds(4), rise: rise, jitter: 0)
                let target = try HealthTarget(address: "127.0.0.1", servicePort: UInt16(server.port), definition: definition)
                await running.monitor.subscribe(target, subscriber: "vip-\(rise)")
            }
            try await waitFor("three checks in flight") { try await server.seen.requests == 3 }
            let clock = ContinuousClock()
            let start = clock.now
            await running.stop()
            let stopped = clock.now - start
            XCTAssertLessThan(stopped, .seconds(3), "stop waited for checks in flight (4 s timeouts)")
            let loops = await running.monitor.runningLoops
            XCTAssertEqual(loops, 0)
            try await waitFor("the server to see every connection closed") {
                try await server.seen.openConnections == 0
            }
        }
    }

    /// `none`: up, never probed; a later subscriber of a checked target gets its
    /// current state rather than the start state.
    func testNoneIsUpAndNewSubscribersGetTheCurrentState() async throws {
        try await withServer { server in
            let running = RunningMonitor(HealthMonitor())
            let manual = try HealthTarget(address: "10.0.0.1", servicePort: 80, definition: .none)
            let manualStatus = await running.monitor.subscribe(manual, subscriber: "vip-a")
            XCTAssertEqual(manualStatus.status, .up)

            let checked = try HealthTarget(
                address: "127.0.0.1", servicePort: UInt16(server.port),
                definition: .init(type: .tcp, interval: .milliseconds(50), timeout: .milliseconds(40), rise: 1, jitter: 0))
            let first = await running.monitor.subscribe(checked, subscriber: "vip-a")
            XCTAssertEqual(first.status, .down)
            _ = try await running.recorder.waitFor(1)
            let second = await running.monitor.subscribe(checked, subscriber: "vip-b")
            XCTAssertEqual(second.status, .up)
            let loops = await running.monitor.runningLoops
            XCTAssertEqual(loops, 1, "none runs no checker")
            let statuses = await running.monitor.statuses().map(\.target)
            XCTAssertEqual(statuses, [manual, checked])
            await running.monitor.unsubscribeAll("vip-a")
            await running.monitor.unsubscribeAll("vip-b")
            let left = await running.monitor.statuses()
            XCTAssertTrue(left.isEmpty)
            await running.stop()
        }
    }
}

private actor ResultLog {
    private(set) var results: [ProbeResult] = []
    var count: Int { results.count }

    func add(_ result: ProbeResult) {
        results.append(result)
    }
}
