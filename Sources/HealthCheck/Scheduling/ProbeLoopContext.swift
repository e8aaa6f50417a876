/// What the check loops of one monitor share: the in-flight limit, where transitions
/// go, and the per-result callback.
struct ProbeLoopContext: Sendable {
    let limiter: ProbeLimiter
    let inbox: MonitorInbox
    let onResult: (@Sendable (HealthTarget, ProbeResult) -> Void)?
}
