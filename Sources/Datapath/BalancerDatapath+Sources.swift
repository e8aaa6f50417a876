import CLBABI
import Glibc

/// One entry of `source_flows`: a VIP's client prefix and the new flows it opened.
public struct SourceFlows: Equatable, Sendable {
    public var key: lb_source_key
    public var flows: lb_source_flows

    public init(key: lb_source_key, flows: lb_source_flows) {
        self.key = key
        self.flows = flows
    }

    public static func == (lhs: SourceFlows, rhs: SourceFlows) -> Bool {
        withUnsafeBytes(of: lhs.key) { a in withUnsafeBytes(of: rhs.key) { b in a.elementsEqual(b) } }
            && withUnsafeBytes(of: lhs.flows) { a in withUnsafeBytes(of: rhs.flows) { b in a.elementsEqual(b) } }
    }
}

extension BalancerDatapath {
    /// Every (VIP, client prefix) the program tracks, read key by key: an entry evicted
    /// or created during the walk may be missed, never invented. At most
    /// LB_SOURCE_ENTRIES entries, two syscalls each.
    public func sourceEntries() throws -> [SourceFlows] {
        try sourceFlows.keys().compactMap { key in
            try sourceFlows.lookup(key: key).map { SourceFlows(key: key, flows: $0) }
        }
    }

    /// New flows dropped by the per-source limit, summed across CPUs.
    public func sourceRefusals() throws -> UInt64 {
        try floodStats.counter(key: 0, index: 0)
    }

    /// The clock of the program's timestamps (bpf_ktime_get_coarse_ns), in nanoseconds.
    public static func coarseMonotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
