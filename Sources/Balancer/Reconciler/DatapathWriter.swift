/// The map writes the reconciler makes, one method per kind of write: implemented over
/// `BalancerDatapath` by the daemon, and by `InMemoryDatapath` in tests. Balancer stays
/// free of libbpf; the implementation converts the values to the ABI structs of
/// `bpf/lb_abi.h`.
///
/// The reconciler orders the calls so that no packet ever sees a half-done change
/// (see `Reconciler`); each method need only be atomic per map entry, as map updates
/// are. A method that throws may have written part of its entries: the reconciler
/// then treats what it touched as unknown and rewrites it on the next reconcile.
public protocol DatapathWriter: Sendable {
    /// `backends[index]` := `address` (family from the address), flags `LB_BACKEND_F_UP`
    /// if `up`, `generation`. Index 0 is never used (LB_BACKEND_NONE); indices stay below
    /// `Limits.backendMapEntries`. The generation changes whenever the index passes to
    /// another address: connection entries of the previous backend stop matching, and a
    /// generation other than the entry's zeroes the index's traffic counters first (they
    /// are the new backend's).
    func setBackend(index: UInt32, address: IPAddress, up: Bool, generation: UInt16) throws

    /// `backends[index]` := no address, not up, `generation` kept: connection entries still
    /// naming the index are re-picked, and a restarted daemon reads the generation back.
    /// Only called once no live ring references the index.
    func clearBackend(index: UInt32, generation: UInt16) throws

    /// Ring `ring` (0 or 1) of the VIP with index `vipIndex` := `slots` (ring-size backend
    /// indices), writing only the 16-slot chunks that hold `changedSlots`, or every chunk
    /// when nil: `BalancerDatapath.writeRing(vipIndex:ring:slots:changedSlots:)`. Never
    /// called for the ring a VIP is serving from.
    func writeRing(vipIndex: UInt32, ring: UInt32, slots: [UInt32], changedSlots: [Int]?) throws

    /// `vips[index]` := `info`, then `vip_map[vip]` := `index`, then its address and
    /// filter bit, derived from `vip_map` (for a new key, or when missing after a failed
    /// call): `BalancerDatapath.installVIP`. Also how a VIP flips its live ring or
    /// changes flags: `info` is written with one map update. A generation other than
    /// the entry's zeroes the index's traffic counters first (a new VIP's).
    func installVIP(_ vip: VIPKey, index: UInt32, info: VIPInfo) throws

    /// Moves the index's generation on by one and sets `LB_VIP_F_NO_BACKEND`, then
    /// deletes `vip_map[vip]`, then derives the addresses and filter bits from `vip_map`
    /// (`BalancerDatapath.removeVIP`); with the key absent, only the last step.
    func removeVIP(_ vip: VIPKey) throws
}

/// `lb_vip_info` flags. The raw values are the ABI's `LB_VIP_F_*`.
public struct VIPFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// LB_VIP_F_HASH_SOURCE_ONLY: new flows hash the client address only (`hash: source`).
    public static let hashSourceOnly = VIPFlags(rawValue: 1 << 0)
    /// LB_VIP_F_NO_BACKEND: no backend can take new flows; they are dropped and counted.
    public static let noBackend = VIPFlags(rawValue: 1 << 1)
    /// LB_VIP_F_KEEP_FLOWS_ON_DOWN: established flows stay on a backend that is down
    /// (`on_backend_down: keep`).
    public static let keepFlowsOnDown = VIPFlags(rawValue: 1 << 2)
}

/// A VIP index's state in the `vips` map (`lb_vip_info`).
public struct VIPInfo: Hashable, Sendable {
    public var flags: VIPFlags
    /// The ring new flows are hashed into: 0 or 1.
    public var liveRing: UInt32
    /// 0: the global `udp_idle_timeout`.
    public var udpIdleTimeoutSeconds: UInt32
    /// Changes whenever the index passes to another VIP: connection entries of the
    /// previous VIP (which store its low 16 bits) stop matching.
    public var generation: UInt32

    public init(flags: VIPFlags, liveRing: UInt32, udpIdleTimeoutSeconds: UInt32, generation: UInt32) {
        self.flags = flags
        self.liveRing = liveRing
        self.udpIdleTimeoutSeconds = udpIdleTimeoutSeconds
        self.generation = generation
    }

    /// An index never written: the zero-filled array entry.
    static let zero = VIPInfo(flags: [], liveRing: 0, udpIdleTimeoutSeconds: 0, generation: 0)
}
