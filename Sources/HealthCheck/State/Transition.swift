#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A change of state, with what caused it: the result that reached the threshold
/// (its reason and latency) and how many consecutive results it took.
public struct Transition: Sendable, Hashable, CustomStringConvertible {
    public let from: HealthStatus
    public let to: HealthStatus
    public let at: Date
    /// `rise` for a transition to up, `fall` for one to down.
    public let consecutive: Int
    /// The result that completed the run; its reason is the transition's reason.
    public let result: ProbeResult

    /// "status 503", "connection refused", "timeout after 500 ms (awaiting response)";
    /// for a transition to up, what the last success saw ("status 200", "connected").
    public var reason: String { result.reason }

    /// A low-cardinality label for metrics: the failure's kind, or `success`.
    public var reasonKind: String { result.failure?.kind.rawValue ?? "success" }

    /// "down after 3 consecutive failures: status 503 (1.2 ms)".
    public var description: String {
        let run = switch (to, consecutive) {
        case (.up, 1): "1 success"
        case (.up, _): "\(consecutive) consecutive successes"
        case (.down, 1): "1 failure"
        case (.down, _): "\(consecutive) consecutive failures"
        }
        return "\(to) after \(run): \(reason) (\(result.latencyText))"
    }
}
