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

    /// The server ids of VIP index `vipIndex` := exactly `servers` (server id → backend),
    /// each entry stamped with the low 16 bits of `vipGeneration`: new and changed
    /// entries written, the index's others deleted (`BalancerDatapath.writeQUICServers`).
    /// Every backend named is set before; entries of a VIP index since given to another
    /// VIP never match its generation, so a leftover entry routes nothing.
    func writeQUICServers(vipIndex: UInt32, vipGeneration: UInt32, servers: [UInt32: QUICServer]) throws
}
