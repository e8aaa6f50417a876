import Datapath
import Foundation

/// How full the connection table is: entries in use of `capacity` (its max_entries; the
/// table is one LRU list shared by all CPUs, so this is one figure for the machine).
public struct ConnectionTableUsage: Equatable, Sendable {
    public var entries: Int
    /// False when `entries` is estimated from a sample of the table (a large one).
    public var exact: Bool
    public var capacity: Int
    /// When `entries` was counted: a count is reused for `ConnectionTableCounter.maxAge`.
    public var countedAt: Date

    public init(entries: Int, exact: Bool, capacity: Int, countedAt: Date) {
        self.entries = entries
        self.exact = exact
        self.capacity = capacity
        self.countedAt = countedAt
    }

    public var utilization: Double { capacity > 0 ? Double(entries) / Double(capacity) : 0 }
}

/// Counts the connection table at most once per `maxAge`, however often status and
/// scrapes ask: each count walks up to `BalancerDatapath.tableCountSample` entries
/// (docs/metrics.md gives its cost), so scrapes cannot multiply it.
public final class ConnectionTableCounter: @unchecked Sendable {
    public static let maxAge: TimeInterval = 10

    private let capacity: Int
    private let count: @Sendable () throws -> EntryCount
    private let lock = NSLock()
    private var last: ConnectionTableUsage?

    public init(capacity: Int, count: @escaping @Sendable () throws -> EntryCount) {
        self.capacity = capacity
        self.count = count
    }

    /// The last count if younger than `maxAge`, else a new one. Callers wait while
    /// another counts: one scan at a time.
    public func usage(now: Date = Date()) throws -> ConnectionTableUsage {
        lock.lock()
        defer { lock.unlock() }
        if let last, now.timeIntervalSince(last.countedAt) < Self.maxAge { return last }
        let counted = try count()
        let usage = ConnectionTableUsage(entries: counted.entries, exact: counted.exact, capacity: capacity, countedAt: now)
        last = usage
        return usage
    }
}
