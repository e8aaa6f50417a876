/// A target changed state: what the daemon's reconciler consumes.
public struct HealthEvent: Sendable, Hashable, CustomStringConvertible {
    public let target: HealthTarget
    public let transition: Transition
    /// The subscribers (services) using the target when it changed.
    public let subscribers: Set<String>

    /// "10.0.0.1:80 http down after 3 consecutive failures: status 503 (1.2 ms)".
    public var description: String { "\(target) \(transition)" }
}
