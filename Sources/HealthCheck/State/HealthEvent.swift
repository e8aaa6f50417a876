/// A target changed state: what the daemon's reconciler consumes.
public struct HealthEvent: Sendable, Hashable, CustomStringConvertible {
    public let target: HealthTarget
    public let transition: Transition
    /// The subscribers (services) using the target when it changed.
    public let subscribers: Set<String>

    /// "10.0.0.1:80 http down after 3 consecutive failures: status 503 (1.2 ms)".
    public var description: String { "\(target) \(transition)" }
}

/// One target as `lbctl status` shows it.
public struct TargetStatus: Sendable, Hashable {
    public let target: HealthTarget
    public let subscribers: Set<String>
    /// State, since when, the last result and its latency, consecutive counts, totals.
    public let health: HealthState

    public var status: HealthStatus { health.status }
}

/// Transitions counted by direction and reason kind, for the metrics layer:
/// `lbd_health_transitions_total{to="down",reason="timeout"}`.
public struct TransitionCounterKey: Sendable, Hashable {
    public let to: HealthStatus
    /// `Transition.reasonKind`: a failure kind, or `success`.
    public let reason: String

    public init(to: HealthStatus, reason: String) {
        self.to = to
        self.reason = reason
    }
}
