import CLBABI
import Glibc

/// The VIP index and backend index a connection entry sends its flow to.
public struct FlowOwner: Hashable, Sendable {
    public var vipIndex: UInt32
    public var backendIndex: UInt32

    public init(vipIndex: UInt32, backendIndex: UInt32) {
        self.vipIndex = vipIndex
        self.backendIndex = backendIndex
    }
}

/// Live connection entries of one owner: `active` flows, and `closing` ones (the client
/// sent a FIN or an RST; the entry lingers for the final packets).
public struct FlowTally: Equatable, Sendable {
    public var active = 0
    public var closing = 0

    public init(active: Int = 0, closing: Int = 0) {
        self.active = active
        self.closing = closing
    }
}

extension BalancerDatapath {
    /// The live entries of the connection table by VIP and backend, judged as the program
    /// judges them (bpf/lib/flow.h) at one instant of CLOCK_MONOTONIC_COARSE: an entry
    /// counts while its VIP and backend indices still hold the generations it recorded,
    /// its backend still takes its packets (up, or down on a VIP that keeps such flows),
    /// and it is within its timeout (entry_timeout_ns). Entries past it, or stale, keep
    /// their ways until a new flow takes them but count nowhere.
    ///
    /// One walk of the whole table (`BPFMap.forEachEntry`): exact for every entry that
    /// does not change during the walk; a flow that starts, closes or times out while the
    /// walk runs may be counted either way. Times are as the program stores them: an
    /// entry's last packet is refreshed at most every LB_FLOW_REFRESH_NS, so an idle flow
    /// leaves the count up to that much before its timeout after its true last packet.
    public func flowCensus() throws -> [FlowOwner: FlowTally] {
        guard let config = try config.lookup(key: 0) else { return [:] }
        let now = Self.coarseMonotonicNanoseconds()
        let vipEntries = try Self.entries(vips), backendEntries = try Self.entries(backends)
        var tallies: [FlowOwner: FlowTally] = [:]
        try connTable.forEachEntry { key, entry in
            guard entry.backend != UInt32(LB_BACKEND_NONE),
                  Int(entry.vip) < vipEntries.count, let vip = vipEntries[Int(entry.vip)],
                  UInt16(truncatingIfNeeded: vip.generation) == entry.vip_generation,
                  Int(entry.backend) < backendEntries.count, let backend = backendEntries[Int(entry.backend)],
                  Self.keeps(entry, backend: backend, vip: vip),
                  !Self.expired(entry, proto: key.proto, vip: vip, config: config, now: now)
            else { return }
            let owner = FlowOwner(vipIndex: UInt32(entry.vip), backendIndex: entry.backend)
            if entry.flags & UInt8(LB_FLOW_F_CLOSING) != 0 {
                tallies[owner, default: FlowTally()].closing += 1
            } else {
                tallies[owner, default: FlowTally()].active += 1
            }
        }
        return tallies
    }

    /// entry_backend() of flow.h: the flow's own backend, which still takes its packets.
    private static func keeps(_ entry: lb_flow, backend: lb_backend, vip: lb_vip_info) -> Bool {
        guard backend.generation == entry.backend_generation,
              backend.family == UInt8(LB_FAMILY_V4) || backend.family == UInt8(LB_FAMILY_V6) else { return false }
        return backend.flags & UInt8(LB_BACKEND_F_UP) != 0 || vip.flags & UInt32(LB_VIP_F_KEEP_FLOWS_ON_DOWN) != 0
    }

    /// entry_timeout_ns() of flow_table.h, in seconds (0: none).
    static func timeoutSeconds(_ entry: lb_flow, proto: UInt8, vip: lb_vip_info?, config: lb_config) -> UInt32 {
        if proto == UInt8(IPPROTO_UDP) {
            let vipTimeout = vip?.udp_idle_timeout_s ?? 0
            return vipTimeout != 0 ? vipTimeout : config.udp_idle_timeout_s
        }
        if entry.flags & UInt8(LB_FLOW_F_CLOSING) != 0, config.tcp_linger_s != 0 {
            return config.tcp_linger_s
        }
        return config.tcp_idle_timeout_s
    }

    /// entry_expired() of flow_table.h.
    private static func expired(_ entry: lb_flow, proto: UInt8, vip: lb_vip_info, config: lb_config, now: UInt64) -> Bool {
        let timeout = UInt64(timeoutSeconds(entry, proto: proto, vip: vip, config: config)) * 1_000_000_000
        return timeout != 0 && now &- entry.last_seen_ns > timeout
    }

    /// Writes a connection entry as the program would, its lease from the timeout the
    /// program gives it: for tests and benchmarks that seed or age flows.
    package func writeFlow(_ key: lb_flow_key, _ entry: lb_flow) throws {
        let config = try config.lookup(key: 0) ?? lb_config()
        let vip = try vips.lookup(key: UInt32(entry.vip))
        try connTable.update(key: key, value: entry,
                             timeoutSeconds: Self.timeoutSeconds(entry, proto: key.proto, vip: vip, config: config))
    }

    /// Every entry of an array map (vips, backends) by index, read before the census in
    /// one batch walk, not one lookup per connection entry.
    private static func entries<Value>(_ map: BPFMap<UInt32, Value>) throws -> [Value?] {
        var all = [Value?](repeating: nil, count: Int(map.maxEntries))
        try map.forEachEntry { index, value in
            if Int(index) < all.count { all[Int(index)] = value }
        }
        return all
    }
}
