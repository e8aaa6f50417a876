/// One target as `lbctl status` shows it.
public struct TargetStatus: Sendable, Hashable {
    public let target: HealthTarget
    public let subscribers: Set<String>
    /// State, since when, the last result and its latency, consecutive counts, totals.
    public let health: HealthState

    public var status: HealthStatus { health.status }
}
