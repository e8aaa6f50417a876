import Foundation
import HealthCheck
import TestSupport
import XCTest

/// The monitor's bounds, with a scripted prober instead of a network: checks in
/// flight, the event buffer, and state forgotten with the last subscriber.
final class MonitorLimitsTests: XCTestCase {
    func testChecksInFlightNeverExceedTheLimit() async throws {
        let prober = SlowProber(latency: .milliseconds(30))
        let running = RunningMonitor(HealthMonitor(prober: prober, maxConcurrentChecks: 2))
        for port in 1...10 {
            await running.monitor.subscribe(try target(port: UInt16(port)), subscriber: "vip")
        }
        try await waitFor("every target to be checked twice") { await prober.checks >= 20 }
        await running.stop()
        let peak = await prober.peak
        XCTAssertEqual(peak, 2)
    }

    /// A consumer that does not keep up loses the oldest events, never the newest, and
    /// the loss is counted.
    func testFullEventBufferDropsTheOldestAndCountsThem() async throws {
        let prober = SlowProber(latency: .zero, alternate: true)
        let monitor = HealthMonitor(prober: prober, eventBuffer: 2)
        let run = Task { await monitor.run() }
        let target = try target(port: 1, rise: 1, fall: 1)
        await monitor.subscribe(target, subscriber: "vip")
        try await waitFor("events to be dropped") { await monitor.droppedEvents >= 3 }
        await monitor.unsubscribe(target, subscriber: "vip")
        run.cancel()
        await run.value
        var kept: [HealthEvent] = []
        for await event in monitor.events { kept.append(event) }
        let checks = await monitor.transitionCounts.values.reduce(0, +)
        let dropped = await monitor.droppedEvents
        XCTAssertEqual(kept.count, 2)
        XCTAssertEqual(kept.count + dropped, checks)
        XCTAssertNotEqual(kept[0].transition.to, kept[1].transition.to)
    }

    /// The last unsubscriber forgets the state: subscribing again starts from
    /// `start_state`, and the old loop's results are not counted in the new state.
    func testResubscribingStartsAfresh() async throws {
        let prober = SlowProber(latency: .zero)
        let running = RunningMonitor(HealthMonitor(prober: prober))
        let target = try target(port: 1, rise: 1, fall: 1)
        await running.monitor.subscribe(target, subscriber: "vip")
        _ = try await running.recorder.waitFor(1)
        let up = await running.monitor.status(of: target)?.status
        XCTAssertEqual(up, .up)
        await running.monitor.unsubscribe(target, subscriber: "vip")
        let again = await running.monitor.subscribe(target, subscriber: "vip")
        XCTAssertEqual(again.status, .down)
        XCTAssertEqual(again.health.checks, 0)
        await running.stop()
    }

    private func target(port: UInt16, rise: Int = 2, fall: Int = 3) throws -> HealthTarget {
        try HealthTarget(
            address: "127.0.0.1", servicePort: port,
            definition: .init(type: .tcp, interval: .milliseconds(50), timeout: .milliseconds(40), rise: rise, fall: fall,
                              jitter: 0))
    }
}

/// Succeeds after `latency` (alternating with failures if asked), recording how many
/// checks ran at once. Touches no network: its targets are never contacted.
private actor SlowProber: Prober {
    private let latency: Duration
    private let alternate: Bool
    private var inFlight = 0
    private(set) var peak = 0
    private(set) var checks = 0

    init(latency: Duration, alternate: Bool = false) {
        self.latency = latency
        self.alternate = alternate
    }

    func probe(_ target: HealthTarget) async -> ProbeResult {
        inFlight += 1
        peak = max(peak, inFlight)
        checks += 1
        let succeeds = !alternate || checks.isMultiple(of: 2)
        try? await Task.sleep(for: latency)
        inFlight -= 1
        return ProbeResult(succeeds ? .success(.connected) : .failure(.connectionRefused), latency: latency, at: Date())
    }
}
