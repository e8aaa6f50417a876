@testable import HealthCheck
import NIOCore
import XCTest
import TestSupport

/// Jitter bounds and the in-flight limit.
final class SchedulingTests: XCTestCase {
    func testJitterStaysWithinItsBoundsAndSpreads() {
        var random = SplitMix64(seed: 7)
        let schedule = ProbeSchedule(interval: .seconds(2), jitter: 0.1)
        let delays = (0..<10_000).map { _ in schedule.nextDelay(using: &random) }
        XCTAssertGreaterThanOrEqual(delays.min()!, .milliseconds(1800))
        XCTAssertLessThanOrEqual(delays.max()!, .milliseconds(2200))
        XCTAssertLessThan(delays.min()!, .milliseconds(1820), "the jitter must be used, not just allowed")
        XCTAssertGreaterThan(delays.max()!, .milliseconds(2180))
        let firsts = (0..<10_000).map { _ in schedule.firstDelay(using: &random) }
        XCTAssertGreaterThanOrEqual(firsts.min()!, .zero)
        XCTAssertLessThanOrEqual(firsts.max()!, .milliseconds(200))
    }

    func testNoJitterMeansExactInterval() {
        var random = SplitMix64(seed: 1)
        let schedule = ProbeSchedule(interval: .milliseconds(50), jitter: 0)
        XCTAssertEqual(schedule.firstDelay(using: &random), .zero)
        XCTAssertEqual(schedule.nextDelay(using: &random), .milliseconds(50))
    }

    /// Start times fall on a grid of 1% of the interval (10 ms at most), rounded up by
    /// less than one step.
    func testStartsAreRoundedUpToTheGrid() {
        XCTAssertEqual(ProbeSchedule(interval: .milliseconds(200), jitter: 0.1).grid, 2_000_000)
        XCTAssertEqual(ProbeSchedule(interval: .seconds(1), jitter: 0.1).grid, 10_000_000)
        XCTAssertEqual(ProbeSchedule(interval: .seconds(30), jitter: 0.1).grid, 10_000_000)
        XCTAssertEqual(ProbeSchedule(interval: .milliseconds(5), jitter: 0).grid, 50_000)
        var random = SplitMix64(seed: 3)
        for interval in [Duration.milliseconds(200), .seconds(1)] {
            let schedule = ProbeSchedule(interval: interval, jitter: 0.1)
            var slots: Set<UInt64> = []
            for _ in 0..<10_000 {
                let deadline = NIODeadline.uptimeNanoseconds(random.next() % 1_000_000_000_000)
                let aligned = schedule.aligned(deadline)
                XCTAssertEqual(aligned.uptimeNanoseconds % UInt64(schedule.grid), 0)
                XCTAssertGreaterThanOrEqual(aligned, deadline)
                XCTAssertLessThan(aligned, deadline + .nanoseconds(schedule.grid))
                slots.insert(schedule.aligned(.uptimeNanoseconds(deadline.uptimeNanoseconds % 1_000_000_000)).uptimeNanoseconds)
            }
            // Start times spread over a second land on about 1 s / grid instants.
            XCTAssertLessThanOrEqual(Int64(slots.count), 1_000_000_000 / schedule.grid + 1)
        }
        let schedule = ProbeSchedule(interval: .seconds(1), jitter: 0)
        XCTAssertEqual(schedule.aligned(.uptimeNanoseconds(20_000_000)), .uptimeNanoseconds(20_000_000))
        XCTAssertEqual(schedule.aligned(.uptimeNanoseconds(20_000_001)), .uptimeNanoseconds(30_000_000))
    }

    /// Never more than the limit in flight, however many wait; all run eventually.
    func testLimiterBoundsChecksInFlight() async {
        let limiter = ProbeLimiter(limit: 3)
        let gauge = Gauge()
        let results = await withTaskGroup(of: Int?.self) { group in
            for index in 0..<20 {
                group.addTask {
                    await limiter.withPermit {
                        await gauge.enter()
                        try? await Task.sleep(for: .milliseconds(5))
                        await gauge.leave()
                        return index
                    }
                }
            }
            return await group.reduce(into: [Int]()) { if let value = $1 { $0.append(value) } }
        }
        XCTAssertEqual(results.sorted(), Array(0..<20))
        let peak = await gauge.peak
        XCTAssertEqual(peak, 3)
        let idle = limiter.idlePermits
        XCTAssertEqual(idle, 3)
    }

    /// A cancelled waiter leaves the queue and takes no permit.
    func testCancelledWaiterGivesUpWithoutAPermit() async throws {
        let limiter = ProbeLimiter(limit: 1)
        let release = AsyncStream<Void>.makeStream()
        let holder = Task { await limiter.withPermit { for await _ in release.stream {} } }
        try await waitFor("the permit to be taken") { limiter.idlePermits == 0 }
        let waiter = Task { await limiter.withPermit { "ran" } }
        try await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        let waited = await waiter.value
        XCTAssertNil(waited)
        release.continuation.finish()
        _ = await holder.value
        let idle = limiter.idlePermits
        XCTAssertEqual(idle, 1)
    }
}

private actor Gauge {
    private var current = 0
    private(set) var peak = 0

    func enter() {
        current += 1
        peak = max(peak, current)
    }

    func leave() {
        current -= 1
    }
}

