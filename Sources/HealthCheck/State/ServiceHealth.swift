/// How many of a service's backends are up against its quorum.
///
/// The verdict only describes: a degraded service keeps balancing new flows over the
/// backends that are up (as IPVS and Katran do), until fewer than `panic_threshold`
/// percent of them are up, when the reconciler spreads new flows over all of them
/// (`ServiceHealthCheck.panicThreshold`). Established flows follow their
/// connection-table entries in every case.
public struct ServiceHealth: Sendable, Hashable, CustomStringConvertible {
    public enum Level: String, Sendable, Hashable {
        /// At least `minUp` backends are up.
        case healthy
        /// Some, but fewer than `minUp`, backends are up.
        case degraded
        /// No backend is up (or there are none).
        case down
    }

    public let up: Int
    public let total: Int
    public let minUp: Int

    public init(statuses: some Sequence<HealthStatus>, minUp: Int) {
        var up = 0
        var total = 0
        for status in statuses {
            total += 1
            if status == .up { up += 1 }
        }
        self.up = up
        self.total = total
        self.minUp = minUp
    }

    public var level: Level {
        if up == 0 { return .down }
        return up < minUp ? .degraded : .healthy
    }

    /// "degraded: 1 of 4 backends up, min_up 2".
    public var description: String { "\(level.rawValue): \(up) of \(total) backends up, min_up \(minUp)" }
}
