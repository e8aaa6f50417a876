import CLBABI
import Glibc
import Synchronization

/// One entry of `source_flows`: a VIP's client prefix and the new flows it opened.
public struct SourceFlows: Equatable, Sendable {
    public var key: lb_source_key
    public var flows: lb_source_flows

    public init(key: lb_source_key, flows: lb_source_flows) {
        self.key = key
        self.flows = flows
    }

    public static func == (lhs: SourceFlows, rhs: SourceFlows) -> Bool {
        sameBytes(lhs.key, rhs.key) && sameBytes(lhs.flows, rhs.flows)
    }
}

extension BalancerDatapath {
    /// Every (VIP, client prefix) the program tracks, in one batch walk
    /// (`BPFMap.forEachEntry`): an entry evicted or created during the walk may be
    /// missed, never invented. At most LB_SOURCE_ENTRIES entries.
    public func sourceEntries() throws -> [SourceFlows] {
        var entries: [SourceFlows] = []
        try sourceFlows.forEachEntry { key, flows in entries.append(SourceFlows(key: key, flows: flows)) }
        return entries
    }

    /// `flood_config[0]`'s grouping and limit := `settings`'s when they differ, its
    /// `counting` kept; returns whether it wrote. The daemon writes them at start and
    /// reload from its configuration file.
    @discardableResult
    public func writeFloodSettings(_ settings: lb_flood_config) throws -> Bool {
        try changeFloodConfig { flood in
            let counting = flood.counting
            flood = settings
            flood.counting = counting
        }
    }

    /// Turns counting without a limit on or off (`flood_config[0].counting`): the
    /// daemon's sources windows.
    public func setSourceCounting(_ on: Bool) throws {
        try changeFloodConfig { $0.counting = on ? 1 : 0 }
    }

    /// flood_config has two writers, each of its own fields: one lock for both, so
    /// neither writes the other's fields back stale.
    private static let floodConfigWrites = Mutex(())

    @discardableResult
    private func changeFloodConfig(_ edit: (inout lb_flood_config) -> Void) throws -> Bool {
        try Self.floodConfigWrites.withLock { _ in
            let old = try floodConfig.lookup(key: 0) ?? lb_flood_config()
            var new = old
            edit(&new)
            if sameBytes(old, new) { return false }
            try floodConfig.update(key: 0, value: new)
            return true
        }
    }

    /// New flows dropped by the per-source limit, summed across CPUs.
    public func sourceRefusals() throws -> UInt64 {
        try floodStats.summed(key: 0).refused
    }

    /// The clock of the program's timestamps (bpf_ktime_get_coarse_ns), in nanoseconds.
    public static func coarseMonotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
