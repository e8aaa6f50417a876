import HealthCheck
import TestSupport
import XCTest

/// Collects a monitor's events as they come, for assertions on the exact sequence.
actor EventRecorder {
    private(set) var events: [HealthEvent] = []

    func record(_ event: HealthEvent) {
        events.append(event)
    }

    func waitFor(_ count: Int, within limit: Duration = .seconds(5)) async throws -> [HealthEvent] {
        try await TestSupport.waitFor("\(count) events", within: limit) { events.count >= count }
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
