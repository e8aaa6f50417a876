import HealthCheck
import XCTest

struct TimedOut: Error, CustomStringConvertible {
    let description: String
}

/// Polls `condition` every 5 ms until it holds; throws, naming what was awaited, if it
/// does not within `limit`. Tests wait on facts, never on a sleep they hope is enough.
func waitUntil(
    _ what: String, within limit: Duration = .seconds(5), isolation: isolated (any Actor)? = #isolation,
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + limit
    while try await !condition() {
        guard clock.now < deadline else { throw TimedOut(description: "timed out after \(limit) waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// Collects a monitor's events as they come, for assertions on the exact sequence.
actor EventRecorder {
    private(set) var events: [HealthEvent] = []

    func record(_ event: HealthEvent) {
        events.append(event)
    }

    func waitFor(_ count: Int, within limit: Duration = .seconds(5)) async throws -> [HealthEvent] {
        try await waitUntil("\(count) events", within: limit) { events.count >= count }
        return events
    }
}

/// A monitor running in a task, with its events recorded; `stop()` cancels it and
/// waits for `run()` to return.
struct RunningMonitor {
    let monitor: HealthMonitor
    let recorder = EventRecorder()
    private let runTask: Task<Void, Never>
    private let recordTask: Task<Void, Never>

    init(_ monitor: HealthMonitor) {
        self.monitor = monitor
        runTask = Task { await monitor.run() }
        recordTask = Task { [recorder] in
            for await event in monitor.events { await recorder.record(event) }
        }
    }

    func stop() async {
        runTask.cancel()
        await runTask.value
        await recordTask.value
    }
}
