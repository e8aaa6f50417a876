#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One target's health with rise/fall hysteresis: a pure value, fed one result at a
/// time, so the thresholds are exact and testable without a network.
///
/// Up becomes down on the `fall`-th consecutive failure and down becomes up on the
/// `rise`-th consecutive success; a single result of the other kind resets the run.
/// The consecutive counts keep counting past the thresholds, as `lbctl status` shows
/// them ("up, 41 consecutive successes").
public struct HealthState: Sendable, Hashable {
    public let rise: Int
    public let fall: Int
    public private(set) var status: HealthStatus
    /// When `status` last changed; the creation time until the first transition.
    public private(set) var since: Date
    public private(set) var consecutiveSuccesses = 0
    public private(set) var consecutiveFailures = 0
    public private(set) var lastResult: ProbeResult?
    public private(set) var checks = 0
    public private(set) var failures = 0
    /// Checks the checker could not run for a reason of its own host (`ProbeFailure.local`).
    public private(set) var checkerErrors = 0

    public init(rise: Int, fall: Int, start: HealthStatus, since: Date) {
        precondition(rise >= 1 && fall >= 1, "rise and fall are validated to be at least 1")
        self.rise = rise
        self.fall = fall
        self.status = start
        self.since = since
    }

    /// Counts `result` and returns the transition it completes, if any. The checker's own
    /// error is shown (`lastResult`) but neither a success nor a failure: the runs of
    /// either go on as if the check had not been due.
    public mutating func record(_ result: ProbeResult) -> Transition? {
        checks += 1
        lastResult = result
        if result.failure?.isLocal == true {
            checkerErrors += 1
            return nil
        }
        switch result.outcome {
        case .success:
            consecutiveSuccesses += 1
            consecutiveFailures = 0
            guard status == .down, consecutiveSuccesses == rise else { return nil }
            return change(to: .up, after: rise, result)
        case .failure:
            failures += 1
            consecutiveFailures += 1
            consecutiveSuccesses = 0
            guard status == .up, consecutiveFailures == fall else { return nil }
            return change(to: .down, after: fall, result)
        }
    }

    private mutating func change(to new: HealthStatus, after count: Int, _ result: ProbeResult) -> Transition {
        let transition = Transition(from: status, to: new, at: result.at, consecutive: count, result: result)
        status = new
        since = result.at
        return transition
    }
}
