import Datapath
import Foundation

/// The connection table's live flows by VIP and backend index (`BalancerDatapath.flowCensus`),
/// and when they were counted.
public struct ActiveFlows: Equatable, Sendable {
    public var tallies: [FlowOwner: FlowTally]
    public var countedAt: Date

    public init(tallies: [FlowOwner: FlowTally], countedAt: Date) {
        self.tallies = tallies
        self.countedAt = countedAt
    }

    public func tally(vipIndex: UInt32?, backendIndex: UInt32?) -> FlowTally {
        guard let vipIndex, let backendIndex else { return FlowTally() }
        return tallies[FlowOwner(vipIndex: vipIndex, backendIndex: backendIndex)] ?? FlowTally()
    }
}

/// Walks the connection table at most once per `maxAge`, however often status, scrapes
/// and `lbctl backend drain --wait` ask; one walk at a time. The walk is of the whole
/// table (a drain needs an exact zero, which a sample cannot give): docs/metrics.md gives
/// its cost. `maxAge` is short so that a drain is reported within a second of its last
/// flow closing.
public final class ActiveFlowCounter: @unchecked Sendable {
    public static let maxAge: TimeInterval = 0.5

    private let census: @Sendable () throws -> [FlowOwner: FlowTally]
    private let lock = NSLock()
    private var last: ActiveFlows?

    public init(census: @escaping @Sendable () throws -> [FlowOwner: FlowTally]) {
        self.census = census
    }

    public func flows(now: Date = Date()) throws -> ActiveFlows {
        lock.lock()
        defer { lock.unlock() }
        if let last, now.timeIntervalSince(last.countedAt) < Self.maxAge { return last }
        let counted = ActiveFlows(tallies: try census(), countedAt: now)
        last = counted
        return counted
    }
}
