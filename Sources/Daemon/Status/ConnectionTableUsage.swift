import Datapath
import Foundation

/// How full the connection table is: ways in use of `capacity` (the flows it is sized for,
/// with twice as many ways, so `entries` may exceed it; the table is shared by all CPUs,
/// so this is one figure for the machine).
public struct ConnectionTableUsage: Equatable, Sendable {
    /// How long a count is reused (`RecentReading`), however often status and scrapes
    /// ask: each count walks up to `BalancerDatapath.tableCountSample` entries
    /// (docs/metrics.md gives its cost), so scrapes cannot multiply it.
    public static let maxAge: TimeInterval = 10

    public var entries: Int
    /// False when `entries` is estimated from a sample of the table (a large one).
    public var exact: Bool
    public var capacity: Int
    /// When `entries` was counted: a count is reused for `maxAge`.
    public var countedAt: Date

    public init(entries: Int, exact: Bool, capacity: Int, countedAt: Date) {
        self.entries = entries
        self.exact = exact
        self.capacity = capacity
        self.countedAt = countedAt
    }

    public var utilization: Double { capacity > 0 ? Double(entries) / Double(capacity) : 0 }
}
