import NIOConcurrencyHelpers

/// A target's health, written by its check loop and read by the monitor (`status`,
/// `statuses`): a lock rather than an actor, so recording a result costs no hop.
final class HealthCell: Sendable {
    private let state: NIOLockedValueBox<HealthState>

    init(_ state: HealthState) {
        self.state = NIOLockedValueBox(state)
    }

    var value: HealthState { state.withLockedValue { $0 } }

    /// The transition `result` completes, if any, and whether it begins a run of the
    /// checker's own errors (the one of the run worth a log line).
    func record(_ result: ProbeResult) -> (transition: Transition?, checkerErrorBegins: Bool) {
        state.withLockedValue { state in
            let wasLocal = state.lastResult?.failure?.isLocal == true
            return (state.record(result), result.failure?.isLocal == true && !wasLocal)
        }
    }
}
