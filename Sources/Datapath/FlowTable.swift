import CLBABI

/// The connection table (`conn_table`) as flows: the array of buckets of
/// bpf/lib/flow_table.h, read and written the way the program does. Every reader of
/// the table goes through here (the flow census, the entry count, tests and benchmarks
/// seeding it); lbd itself never writes it.
///
/// A way holds a flow when the bucket's head tags it with its key (`tag`) and its check
/// word is that of its key and routing fields (`check`); the program treats any other
/// as a miss, and so does `lookup`.
public final class FlowTable: Sendable {
    package let buckets: BPFMap<UInt32, lb_flow_bucket>

    /// The kernel's id of the map.
    public var id: UInt32 { buckets.id }

    init(_ buckets: BPFMap<UInt32, lb_flow_bucket>) {
        self.buckets = buckets
    }

    static let ways = Int(LB_FLOW_WAYS)
    static let slotSize = MemoryLayout<lb_flow_slot>.stride

    /// LB_FLOW_BUCKETS: the buckets of a table holding `capacity` flows.
    public static func bucketCount(capacity: UInt32) -> UInt32 {
        UInt32((UInt64(capacity) * UInt64(LB_FLOW_SLOTS_PER_FLOW) + UInt64(LB_FLOW_WAYS) - 1) / UInt64(LB_FLOW_WAYS))
    }

    /// flow_key_hash() of bpf/lib/hash.h: the words as the program loads them.
    public static func keyHash(_ key: lb_flow_key) -> UInt32 {
        func fold(_ a: (UInt32, UInt32, UInt32, UInt32)) -> UInt32 { a.0 ^ a.1 ^ a.2 ^ a.3 }
        var h = Murmur.mix(Murmur.seed ^ 0x9e3779b9, fold(key.src))
        h = Murmur.mix(h, fold(key.dst))
        h = Murmur.mix(h, UInt32(key.sport) << 16 | UInt32(key.dport))
        return Murmur.final(Murmur.mix(h, UInt32(key.proto) | UInt32(key.family) << 8))
    }

    /// flow_check(): the check word of a way holding `entry` for a key of this hash.
    public static func check(keyHash: UInt32, _ entry: lb_flow) -> UInt32 {
        var h = Murmur.mix(keyHash, entry.backend)
        h = Murmur.mix(h, UInt32(entry.vip) | UInt32(entry.vip_generation) << 16)
        h = Murmur.final(Murmur.mix(h, UInt32(entry.backend_generation)))
        return h != 0 ? h : 1
    }

    /// The bucket the program looks `key` up in.
    public func bucketIndex(of key: lb_flow_key) -> UInt32 {
        Murmur.reduce(Self.keyHash(key), buckets.maxEntries)
    }

    /// flow_tag(): the tag of a way holding a key of this hash.
    public static func tag(keyHash: UInt32) -> UInt32 { keyHash | 1 }

    /// flow_lease(): the lease of a way holding `entry` whose timeout is `timeoutSeconds`
    /// (0: none), as the program computes it from the VIP and the settings.
    public static func lease(_ entry: lb_flow, timeoutSeconds: UInt32) -> UInt32 {
        let until = (entry.last_seen_ns &+ UInt64(timeoutSeconds) * 1_000_000_000) >> UInt64(LB_FLOW_LEASE_SHIFT)
        let lease = timeoutSeconds == 0 || until > UInt64(LB_FLOW_LEASE_FOREVER) ? LB_FLOW_LEASE_FOREVER : UInt32(until)
        return entry.flags & UInt8(LB_FLOW_F_EMBRYONIC) != 0 ? lease : lease | LB_FLOW_LEASE_ESTABLISHED
    }

    /// The entry of `key`, or nil when no way holds it.
    public func lookup(key: lb_flow_key) throws -> lb_flow? {
        guard let bucket = try buckets.lookup(key: bucketIndex(of: key)),
              let way = Self.way(of: key, in: bucket) else { return nil }
        let slot = Self.slots(bucket)[way]
        return Self.holds(slot, hash: Self.keyHash(key)) ? slot.flow : nil
    }

    /// Writes `value` for `key` (its check, tag and lease computed here; its timeout
    /// `timeoutSeconds`, 0 for none) in the way the program would give it: its own, else
    /// the one flow_victim() would choose, whatever the packet. For fixtures: a table the
    /// program is writing meanwhile may lose either write.
    public func update(key: lb_flow_key, value: lb_flow, timeoutSeconds: UInt32) throws {
        let index = bucketIndex(of: key)
        var bucket = try buckets.lookup(key: index) ?? lb_flow_bucket()
        Self.place(key, value, timeoutSeconds: timeoutSeconds, now: BalancerDatapath.coarseMonotonicNanoseconds(), in: &bucket)
        try buckets.update(key: index, value: bucket)
    }

    /// `update` for many flows: one walk of the table, one batch write of the buckets
    /// changed.
    public func updateBatch(keys: [lb_flow_key], values: [lb_flow], timeoutSeconds: UInt32) throws {
        guard keys.count == values.count else {
            throw DatapathError.invalid("batch update of the connection table", "\(keys.count) keys but \(values.count) values")
        }
        var changed: [UInt32: lb_flow_bucket] = [:]
        let now = BalancerDatapath.coarseMonotonicNanoseconds()
        for (key, value) in zip(keys, values) {
            let index = bucketIndex(of: key)
            if changed[index] == nil { changed[index] = try buckets.lookup(key: index) ?? lb_flow_bucket() }
            Self.place(key, value, timeoutSeconds: timeoutSeconds, now: now, in: &changed[index]!)
        }
        let indices = changed.keys.sorted()
        try buckets.updateBatch(keys: indices, values: indices.map { changed[$0]! })
    }

    /// Every flow the table holds (every way with a matching check), `batchSize` buckets
    /// to a syscall. A way written while the walk reads it may be seen either way.
    public func forEachEntry(batchSize: Int = 1024, _ body: (lb_flow_key, lb_flow) throws -> Void) throws {
        try buckets.forEachEntry(batchSize: batchSize) { _, bucket in
            for slot in Self.slots(bucket) where Self.holds(slot, hash: Self.keyHash(slot.key)) {
                try body(slot.key, slot.flow)
            }
        }
    }

    /// The keys of every flow held.
    public func keys() throws -> [lb_flow_key] {
        var keys: [lb_flow_key] = []
        try forEachEntry { key, _ in keys.append(key) }
        return keys
    }

    /// The ways in use (a nonzero check: stale entries count until replaced), by walks of
    /// `batchSize` buckets. Once `sample` are counted the walk stops and estimates the
    /// rest from the buckets walked: flows are spread over the buckets by their hash, so
    /// the relative error is about 1/√sample, and one call reads at most the buckets
    /// holding `sample` ways.
    public func count(batchSize: Int = 1024, sample: Int = .max) throws -> EntryCount {
        guard sample > 0 else {
            throw DatapathError.invalid("count the entries of map \(buckets.name)", "sample \(sample)")
        }
        let total = Int(buckets.maxEntries)
        var used = 0, walked = 0
        var estimate: Int?
        try buckets.walkBatches(batchSize: batchSize, operation: "count the entries of map \(buckets.name)") { _, values, found, _ in
            for i in 0..<found {
                let bucket = values.loadUnaligned(fromByteOffset: i * buckets.valueSize, as: lb_flow_bucket.self)
                used += Self.slots(bucket).reduce(0) { $0 + ($1.flow.check != 0 ? 1 : 0) }
            }
            walked += found
            if used >= sample, walked < total {
                estimate = Int((Double(used) * Double(total) / Double(walked)).rounded())
                return false
            }
            return true
        }
        return estimate.map { EntryCount(entries: $0, exact: false) } ?? EntryCount(entries: used, exact: true)
    }

    // MARK: Ways

    static func slots(_ bucket: lb_flow_bucket) -> [lb_flow_slot] {
        withUnsafeBytes(of: bucket.ways) { raw in
            (0..<ways).map { raw.loadUnaligned(fromByteOffset: $0 * slotSize, as: lb_flow_slot.self) }
        }
    }

    static func holds(_ slot: lb_flow_slot, hash: UInt32) -> Bool {
        slot.flow.check != 0 && slot.flow.check == check(keyHash: hash, slot.flow)
    }

    /// A head's tags or leases, way by way.
    public static func words(_ tuple: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)) -> [UInt32] {
        withUnsafeBytes(of: tuple) { Array($0.bindMemory(to: UInt32.self)) }
    }

    /// flow_find(): the way tagged with `key`'s hash that holds `key`, whatever its check.
    static func way(of key: lb_flow_key, in bucket: lb_flow_bucket) -> Int? {
        let tag = tag(keyHash: keyHash(key))
        let slots = slots(bucket)
        let tags = words(bucket.head.tags)
        return tags.indices.first { tags[$0] == tag && sameBytes(slots[$0].key, key) }
    }

    /// flow_victim() for an insert that may take any way, `now` the program's clock.
    static func victim(in head: lb_flow_bucket_head, now: UInt64) -> Int {
        let today = UInt32(truncatingIfNeeded: now >> UInt64(LB_FLOW_LEASE_SHIFT))
        let tags = words(head.tags), leases = words(head.leases)
        let ranks = leases.indices.map { tags[$0] == 0 ? 0 : leases[$0] & ~LB_FLOW_LEASE_ESTABLISHED < today ? 1 : leases[$0] }
        return ranks.indices.min { ranks[$0] < ranks[$1] }!
    }

    /// `key` into its own way, else the way flow_victim() chooses.
    static func place(_ key: lb_flow_key, _ value: lb_flow, timeoutSeconds: UInt32, now: UInt64,
                      in bucket: inout lb_flow_bucket) {
        let hash = keyHash(key)
        let way = Self.way(of: key, in: bucket) ?? victim(in: bucket.head, now: now)
        var slot = lb_flow_slot(key: key, flow: value)
        slot.flow.check = check(keyHash: hash, value)
        withUnsafeMutableBytes(of: &bucket.ways) { $0.storeBytes(of: slot, toByteOffset: way * slotSize, as: lb_flow_slot.self) }
        withUnsafeMutableBytes(of: &bucket.head.tags) { $0.storeBytes(of: tag(keyHash: hash), toByteOffset: way * 4, as: UInt32.self) }
        withUnsafeMutableBytes(of: &bucket.head.leases) {
            $0.storeBytes(of: lease(value, timeoutSeconds: timeoutSeconds), toByteOffset: way * 4, as: UInt32.self)
        }
    }
}
