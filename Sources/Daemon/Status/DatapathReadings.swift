import Balancer
import CLBABI
import Datapath
import Foundation

/// Packets and bytes, summed over CPUs.
public struct Traffic: Equatable, Sendable {
    public var packets: UInt64
    public var bytes: UInt64

    public init(packets: UInt64, bytes: UInt64) {
        self.packets = packets
        self.bytes = bytes
    }
}

/// Where the program runs, as `GET /v1/status` reports it.
public struct AttachmentStatus: Equatable, Sendable {
    /// `native` or `generic`; nil when our program is not attached to the interface.
    public var mode: String?
    public var interface: String
    /// Whether this process adopted a pinned datapath at start instead of loading one.
    public var adopted: Bool

    public init(mode: String?, interface: String, adopted: Bool) {
        self.mode = mode
        self.interface = interface
        self.adopted = adopted
    }
}

/// What the status reads from the datapath besides the reconciler's snapshot: counters
/// by the snapshot's indices, live ring contents, the attachment. The reconciler stays
/// the only writer; these are reads.
public protocol DatapathReadings: Sendable {
    func vipTraffic(index: UInt32) throws -> Traffic
    func backendTraffic(index: UInt32) throws -> Traffic
    /// The backend index of every slot of ring `ring` of the VIP at `vipIndex`.
    func ring(vipIndex: UInt32, ring: UInt32) throws -> [UInt32]
    func attachment() -> AttachmentStatus
    /// The global counters summed over CPUs, indexed by `lb_stat`.
    func globalCounters() throws -> [UInt64]
    /// SYNs, new flows and misses of the VIP at `index`, summed over CPUs.
    func vipFlows(index: UInt32) throws -> VIPFlows
    /// Entries in use in the connection table, counted at most every 10 s.
    func connectionTable() throws -> ConnectionTableUsage
    /// Live flows per VIP and backend, counted at most every `ActiveFlows.maxAge`.
    func activeFlows() throws -> ActiveFlows
    /// Every (VIP, client prefix) the datapath tracks, read at `now` on its clock.
    func sources() throws -> SourceSample
    /// New flows dropped by the per-source limit (flood.per_source_new_flows), summed over CPUs.
    func sourceRefusals() throws -> UInt64
}

/// How clients open connections to a VIP (counted only on packets that miss the table).
public struct VIPFlows: Equatable, Sendable {
    public var syns: UInt64
    public var newFlows: UInt64
    /// Packets other than SYNs without a live entry: TCP state lost, or a new UDP flow.
    public var misses: UInt64

    public init(syns: UInt64, newFlows: UInt64, misses: UInt64) {
        self.syns = syns
        self.newFlows = newFlows
        self.misses = misses
    }
}

/// The readings of the kernel maps and the interface's XDP attachment.
public struct KernelDatapathReadings: DatapathReadings {
    public let datapath: BalancerDatapath
    public let interface: String
    private let tableCount: RecentReading<ConnectionTableUsage>
    private let flowCensus: RecentReading<ActiveFlows>

    public init(datapath: BalancerDatapath, interface: String) {
        self.datapath = datapath
        self.interface = interface
        let capacity = Int(datapath.limits.connectionTable)
        tableCount = RecentReading(maxAge: ConnectionTableUsage.maxAge) { now in
            let counted = try datapath.connectionTableEntries()
            return ConnectionTableUsage(entries: counted.entries, exact: counted.exact, capacity: capacity, countedAt: now)
        }
        flowCensus = RecentReading(maxAge: ActiveFlows.maxAge) { now in
            ActiveFlows(tallies: try datapath.flowCensus(), countedAt: now)
        }
    }

    public func activeFlows() throws -> ActiveFlows {
        try flowCensus.value()
    }

    public func vipTraffic(index: UInt32) throws -> Traffic {
        let (packets, bytes) = try datapath.vipTraffic(index: index)
        return Traffic(packets: packets, bytes: bytes)
    }

    public func backendTraffic(index: UInt32) throws -> Traffic {
        let (packets, bytes) = try datapath.backendTraffic(index: index)
        return Traffic(packets: packets, bytes: bytes)
    }

    public func ring(vipIndex: UInt32, ring: UInt32) throws -> [UInt32] {
        try datapath.readRing(vipIndex: vipIndex, ring: ring)
    }

    public func globalCounters() throws -> [UInt64] {
        try datapath.globalCounters()
    }

    public func vipFlows(index: UInt32) throws -> VIPFlows {
        let flows = try datapath.vipFlows(index: index)
        return VIPFlows(syns: flows.syns, newFlows: flows.new_flows, misses: flows.misses)
    }

    public func connectionTable() throws -> ConnectionTableUsage {
        try tableCount.value()
    }

    public func sources() throws -> SourceSample {
        SourceSample(entries: try datapath.sourceEntries(), now: BalancerDatapath.coarseMonotonicNanoseconds())
    }

    public func sourceRefusals() throws -> UInt64 {
        try datapath.sourceRefusals()
    }

    /// Our program's mode on the interface; nil if another program, or none, is attached
    /// (someone detached it: the VIPs are not served).
    public func attachment() -> AttachmentStatus {
        let attached = try? XDP.attachedProgram(interface: interface)
        let mode = attached.flatMap { $0.programID == datapath.program.id ? $0.mode.rawValue : nil }
        return AttachmentStatus(mode: mode, interface: interface, adopted: datapath.adopted)
    }
}
