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
