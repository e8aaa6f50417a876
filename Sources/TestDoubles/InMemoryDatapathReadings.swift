import CLBABI
import Daemon
import Foundation

/// The readings of an `InMemoryDatapath` (tests of the daemon without a kernel): rings as
/// written, no traffic, an empty connection table, not attached.
public struct InMemoryDatapathReadings: DatapathReadings {
    public let datapath: InMemoryDatapath

    public init(datapath: InMemoryDatapath) {
        self.datapath = datapath
    }

    public func vipTraffic(index: UInt32) -> Traffic { Traffic(packets: 0, bytes: 0) }
    public func backendTraffic(index: UInt32) -> Traffic { Traffic(packets: 0, bytes: 0) }
    public func ring(vipIndex: UInt32, ring: UInt32) -> [UInt32] { datapath.ring(vipIndex: vipIndex, ring: ring) }
    public func attachment() -> AttachmentStatus { AttachmentStatus(mode: nil, interface: "none", adopted: false) }
    public func globalCounters() -> [UInt64] { [UInt64](repeating: 0, count: Int(LB_STAT_COUNT.rawValue)) }
    public func vipFlows(index: UInt32) -> VIPFlows { VIPFlows(syns: 0, newFlows: 0, misses: 0) }
    public func connectionTable() -> ConnectionTableUsage {
        ConnectionTableUsage(entries: 0, exact: true, capacity: 0, countedAt: Date())
    }
    public func activeFlows() -> ActiveFlows { ActiveFlows(tallies: [:], countedAt: Date()) }
    public func sources() -> SourceSample { SourceSample(entries: [], now: 0) }
    public func sourceRefusals() -> UInt64 { 0 }
}
