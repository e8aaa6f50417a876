import Datapath
import Foundation

/// The connection table's live flows by VIP and backend index (`BalancerDatapath.flowCensus`),
/// and when they were counted.
public struct ActiveFlows: Equatable, Sendable {
    /// How long a census is reused (`RecentReading`), however often status, scrapes and
    /// `lbctl backend drain --wait` ask. The walk is of the whole table (a drain needs an
    /// exact zero, which a sample cannot give): docs/metrics.md gives its cost. Short, so
    /// that a drain is reported within a second of its last flow closing.
    public static let maxAge: TimeInterval = 0.5

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
