import CLibbpf
import Glibc

/// How an update treats an existing entry (BPF_ANY / BPF_NOEXIST / BPF_EXIST).
public enum BPFUpdateFlags: UInt64, Sendable {
    /// Create or replace.
    case any = 0
    /// Create only; fails with EEXIST if the key is present.
    case noExist = 1
    /// Replace only; fails with ENOENT if the key is absent.
    case exist = 2
}

/// Whether two values hold the same bytes: how map keys and values (C structs of
/// `lb_abi.h`, which Swift cannot compare) are compared.
func sameBytes<T: BitwiseCopyable>(_ a: T, _ b: T) -> Bool {
    withUnsafeBytes(of: a) { a in withUnsafeBytes(of: b) { b in a.elementsEqual(b) } }
}

/// A BPF map with typed keys and values.
///
/// `Key` and `Value` are the C structs of `lb_abi.h` (or fixed-width integers): their
/// bytes go to the kernel as they are, so the layouts are defined once, in the header.
/// The sizes are checked against the kernel's map when the handle is created, so a
/// mismatch fails at open instead of corrupting entries.
///
/// Per-CPU maps hold one value per possible CPU, each padded to 8 bytes by the kernel;
/// use `lookupPerCPU`, `updatePerCPU` or `sumPerCPU` on them (`update` writes the same
/// value on every CPU, `lookup` refuses, since one CPU's value is rarely what is meant).
///
/// Thread-safe: every operation is one or more independent syscalls on the descriptor.
public final class BPFMap<Key: BitwiseCopyable, Value: BitwiseCopyable>: Sendable {
    public let name: String
    /// The kernel's id of the map (`bpftool map show id N`).
    public let id: UInt32
    public let type: bpf_map_type
    public let keySize: Int
    public let valueSize: Int
    public let maxEntries: UInt32
    public let isPerCPU: Bool
    /// Possible CPUs (not online ones): the number of values of a per-CPU entry.
    public let possibleCPUs: Int
    let fd: FileDescriptor

    /// The map's descriptor, owned by this handle (valid while it lives).
    public var rawFD: Int32 { fd.raw }

    /// Bytes of one CPU's value in per-CPU buffers: the value rounded up to 8.
    var perCPUStride: Int { (valueSize + 7) & ~7 }

    init(name: String, fd: FileDescriptor) throws {
        let info = try MapInfo(fd: fd.raw, what: "map \(name)")
        let swiftKey = MemoryLayout<Key>.size
        let swiftValue = MemoryLayout<Value>.size
        if Int(info.keySize) != swiftKey || Int(info.valueSize) != swiftValue {
            throw DatapathError(
                kind: .layoutMismatch, operation: "open map \(name)",
                message: "the kernel map has key \(info.keySize) B / value \(info.valueSize) B but Swift uses "
                    + "\(Key.self) (\(swiftKey) B) / \(Value.self) (\(swiftValue) B)")
        }
        self.name = name
        self.fd = fd
        id = info.id
        type = bpf_map_type(info.type)
        keySize = swiftKey
        valueSize = swiftValue
        maxEntries = info.maxEntries
        isPerCPU = Self.perCPUTypes.contains(info.type)
        if isPerCPU {
            let cpus = libbpf_num_possible_cpus()
            try check(cpus, "count possible CPUs")
            possibleCPUs = Int(cpus)
        } else {
            possibleCPUs = 1
        }
    }

    private static var perCPUTypes: [UInt32] {
        [BPF_MAP_TYPE_PERCPU_HASH.rawValue, BPF_MAP_TYPE_PERCPU_ARRAY.rawValue,
         BPF_MAP_TYPE_LRU_PERCPU_HASH.rawValue, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE.rawValue]
    }

    // MARK: Single entries

    /// The value at `key`, or nil if absent (arrays: index out of range). Not for per-CPU maps.
    public func lookup(key: Key) throws -> Value? {
        try requireShared("look up")
        return try withUnsafeTemporaryAllocation(byteCount: valueSize, alignment: MemoryLayout<Value>.alignment) { out in
            let result = withUnsafeBytes(of: key) { bpf_map_lookup_elem(fd.raw, $0.baseAddress, out.baseAddress) }
            if result == -ENOENT { return nil }
            try check(result, "look up an entry of map \(name)")
            return out.loadUnaligned(as: Value.self)
        }
    }

    /// Every CPU's value at `key` (index = CPU), or nil if absent.
    public func lookupPerCPU(key: Key) throws -> [Value]? {
        guard let raw = try lookupRaw(key: key) else { return nil }
        let stride = isPerCPU ? perCPUStride : valueSize
        return raw.withUnsafeBytes { bytes in
            (0..<possibleCPUs).map { bytes.loadUnaligned(fromByteOffset: $0 * stride, as: Value.self) }
        }
    }

    /// Writes `value` at `key`; on a per-CPU map, the same value on every CPU.
    public func update(key: Key, value: Value, flags: BPFUpdateFlags = .any) throws {
        let values = [Value](repeating: value, count: possibleCPUs)
        try store(key: key, values: values, flags: flags)
    }

    /// `key` := `value` unless the entry holds these very bytes already (an absent key is
    /// written); returns whether it wrote. Shared maps only, as `lookup`.
    @discardableResult
    public func updateIfChanged(key: Key, value: Value) throws -> Bool {
        if let old = try lookup(key: key), sameBytes(old, value) { return false }
        try update(key: key, value: value)
        return true
    }

    /// Writes one value per possible CPU (`values.count == possibleCPUs`) at `key`.
    public func updatePerCPU(key: Key, values: [Value], flags: BPFUpdateFlags = .any) throws {
        guard values.count == possibleCPUs else {
            throw DatapathError.invalid("update map \(name)",
                                        "\(values.count) values given, the map has \(possibleCPUs) CPUs")
        }
        try store(key: key, values: values, flags: flags)
    }

    /// Deletes `key`; false if it was absent. Arrays cannot delete (the kernel says EINVAL).
    @discardableResult
    public func delete(key: Key) throws -> Bool {
        let result = withUnsafeBytes(of: key) { bpf_map_delete_elem(fd.raw, $0.baseAddress) }
        if result == -ENOENT { return false }
        try check(result, "delete an entry of map \(name)")
        return true
    }

    // MARK: Many entries

    /// Writes `values[i]` at `keys[i]` in one `BPF_MAP_UPDATE_BATCH` call, falling back to
    /// single updates where the kernel or map type has no batch operation (EOPNOTSUPP,
    /// EINVAL). Entries are applied in order; on failure, the earlier ones stay written.
    /// On a per-CPU map every CPU gets the same value.
    public func updateBatch(keys: [Key], values: [Value], flags: BPFUpdateFlags = .any) throws {
        let operation = "batch update of map \(name)"
        guard keys.count == values.count else {
            throw DatapathError.invalid(operation, "\(keys.count) keys but \(values.count) values")
        }
        guard !keys.isEmpty else { return }
        guard keys.count <= Int(UInt32.max) else { throw DatapathError.invalid(operation, "too many entries") }
        let entryBytes = isPerCPU ? perCPUStride * possibleCPUs : valueSize
        var keyBuffer = [UInt8](repeating: 0, count: keySize * keys.count)
        var valueBuffer = [UInt8](repeating: 0, count: entryBytes * values.count)
        keyBuffer.withUnsafeMutableBytes { raw in
            for (i, key) in keys.enumerated() { raw.storeBytes(of: key, toByteOffset: i * keySize, as: Key.self) }
        }
        valueBuffer.withUnsafeMutableBytes { raw in
            for (i, value) in values.enumerated() {
                for cpu in 0..<(isPerCPU ? possibleCPUs : 1) {
                    raw.storeBytes(of: value, toByteOffset: i * entryBytes + cpu * perCPUStride, as: Value.self)
                }
            }
        }
        let opts = LibbpfOptions<bpf_map_batch_opts>()
        opts.elem_flags = flags.rawValue
        var count = UInt32(keys.count)
        let result = keyBuffer.withUnsafeBytes { k in
            valueBuffer.withUnsafeBytes { v in bpf_map_update_batch(fd.raw, k.baseAddress, v.baseAddress, &count, opts.pointer) }
        }
        if result == 0 { return }
        let done = min(Int(count), keys.count)
        if result == -EOPNOTSUPP || result == -EINVAL || result == -kernelENOTSUPP {
            // No batch support here (or an entry the kernel refused: the single update
            // of that entry reports it precisely).
            for i in done..<keys.count { try update(key: keys[i], value: values[i], flags: flags) }
            return
        }
        throw DatapathError.system(operation + " (\(done) of \(keys.count) entries written)", code: result)
    }

    /// All keys, by `BPF_MAP_GET_NEXT_KEY` (arrays: every index). A hash map changing
    /// meanwhile may yield a key twice or miss one; the walk stops after `maxEntries` keys.
    public func keys() throws -> [Key] {
        var result: [Key] = []
        var previous: Key?
        while result.count < Int(maxEntries), let next = try nextKey(after: previous) {
            result.append(next)
            previous = next
        }
        return result
    }

    /// The number of entries, by `BPF_MAP_LOOKUP_BATCH` walks of `batchSize` entries: one
    /// syscall and `batchSize` × (key + value) bytes of buffer per batch. On a hash map the
    /// walk stops once it has counted `sample` entries and estimates the rest from the
    /// buckets walked: the batch position is the next bucket's index, the map has
    /// `maxEntries` rounded up to a power of two buckets, and its keyed hash spreads
    /// entries evenly over them, so the relative error is about 1/√sample. The cost is
    /// bounded by `sample` entries, whatever the map's size. A map changing meanwhile may
    /// have an entry counted twice or missed, like `keys()`.
    public func count(batchSize: Int = 8192, sample: Int = .max) throws -> EntryCount {
        guard sample > 0 else {
            throw DatapathError.invalid("count the entries of map \(name)", "sample \(sample)")
        }
        let buckets = Self.hashTypes.contains(type.rawValue) ? Self.bucketCount(maxEntries) : nil
        var total = 0
        var estimate: Int?
        try walkBatches(batchSize: batchSize, operation: "count the entries of map \(name)") { _, _, found, walked in
            total += found
            if total >= sample, let buckets, let walked, walked > 0, walked < buckets {
                estimate = Int((Double(total) * Double(buckets) / Double(walked)).rounded())
                return false
            }
            return true
        }
        return estimate.map { EntryCount(entries: $0, exact: false) } ?? EntryCount(entries: total, exact: true)
    }

    /// Every entry of a shared (not per-CPU) map, in batches of `batchSize` (one syscall
    /// each). Each hash bucket is copied under its lock, so an entry present for the whole
    /// walk is seen exactly once; one inserted, deleted or replaced meanwhile may be seen
    /// or not.
    public func forEachEntry(batchSize: Int = 8192, _ body: (Key, Value) throws -> Void) throws {
        try requireShared("walk")
        try walkBatches(batchSize: batchSize, operation: "walk map \(name)") { keys, values, found, _ in
            for i in 0..<found {
                try body(keys.loadUnaligned(fromByteOffset: i * keySize, as: Key.self),
                         values.loadUnaligned(fromByteOffset: i * valueSize, as: Value.self))
            }
            return true
        }
    }

    /// `BPF_MAP_LOOKUP_BATCH` from the start: `body` gets each batch's keys, values (all
    /// CPUs' for a per-CPU map), entry count, and the position after it (the buckets
    /// walked, hash maps; nil otherwise), and returns false to stop early.
    func walkBatches(batchSize: Int, operation: String,
                             _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, Int, UInt32?) throws -> Bool) throws {
        guard batchSize > 0 else { throw DatapathError.invalid(operation, "batch size \(batchSize)") }
        let entryBytes = isPerCPU ? perCPUStride * possibleCPUs : valueSize
        var keyBuffer = [UInt8](repeating: 0, count: keySize * batchSize)
        var valueBuffer = [UInt8](repeating: 0, count: entryBytes * batchSize)
        // The position between batches: a bucket index (hash maps) or a key (arrays).
        var position = [UInt8](repeating: 0, count: max(keySize, 8))
        var nextPosition = position
        let opts = LibbpfOptions<bpf_map_batch_opts>()
        let isHash = Self.hashTypes.contains(type.rawValue)
        var started = false
        while true {
            var found = UInt32(batchSize)
            let result = keyBuffer.withUnsafeMutableBytes { keys in
                valueBuffer.withUnsafeMutableBytes { values in
                    position.withUnsafeMutableBytes { inBatch in
                        nextPosition.withUnsafeMutableBytes { outBatch in
                            bpf_map_lookup_batch(fd.raw, started ? inBatch.baseAddress : nil, outBatch.baseAddress,
                                                 keys.baseAddress, values.baseAddress, &found, opts.pointer)
                        }
                    }
                }
            }
            guard result == 0 || result == -ENOENT else { throw DatapathError.system(operation, code: result) }
            let walked = isHash && result == 0 ? nextPosition.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } : nil
            let goOn = try keyBuffer.withUnsafeBytes { keys in
                try valueBuffer.withUnsafeBytes { values in try body(keys, values, Int(found), walked) }
            }
            if result == -ENOENT || !goOn { return }
            position = nextPosition
            started = true
        }
    }

    /// Map types whose batch position is a bucket index (kernel/bpf/hashtab.c).
    private static var hashTypes: [UInt32] {
        [BPF_MAP_TYPE_HASH.rawValue, BPF_MAP_TYPE_LRU_HASH.rawValue,
         BPF_MAP_TYPE_PERCPU_HASH.rawValue, BPF_MAP_TYPE_LRU_PERCPU_HASH.rawValue]
    }

    /// A hash map's buckets: max_entries rounded up to a power of two.
    static func bucketCount(_ maxEntries: UInt32) -> UInt32 {
        maxEntries <= 1 ? 1 : 1 << (32 - (maxEntries - 1).leadingZeroBitCount)
    }

    /// The counter array at `key` summed across CPUs (see `sumPerCPU`), and counter
    /// `index` of it; both throw, naming the map, when the key or index does not exist.
    public func counters(key: Key) throws -> [UInt64] {
        guard let sums = try sumPerCPU(key: key) else {
            throw DatapathError.invalid("read counters of map \(name)", "the map has no such entry")
        }
        return sums
    }

    /// The counter struct at `key` summed across CPUs, field by field (`counters`: every
    /// field a 64-bit counter); throws as `counters` does.
    public func summed(key: Key) throws -> Value {
        try counters(key: key).withUnsafeBytes { $0.loadUnaligned(as: Value.self) }
    }

    public func counter(key: Key, index: UInt32) throws -> UInt64 {
        let all = try counters(key: key)
        guard Int(index) < all.count else {
            throw DatapathError.invalid("read counter of map \(name)", "no counter \(index) (\(all.count) counters)")
        }
        return all[Int(index)]
    }

    /// Per-CPU counters summed across CPUs: the value read as UInt64 lanes (all counter
    /// structs of lb_abi.h are arrays of __u64), lane i summed over every CPU. Works on
    /// shared maps too (one "CPU"). Nil if the key is absent.
    public func sumPerCPU(key: Key) throws -> [UInt64]? {
        guard valueSize % 8 == 0 else {
            throw DatapathError.invalid("sum counters of map \(name)",
                                        "value size \(valueSize) B is not a whole number of 64-bit counters")
        }
        guard let raw = try lookupRaw(key: key) else { return nil }
        let lanes = valueSize / 8
        let stride = isPerCPU ? perCPUStride : valueSize
        var sums = [UInt64](repeating: 0, count: lanes)
        raw.withUnsafeBytes { bytes in
            for cpu in 0..<possibleCPUs {
                for lane in 0..<lanes {
                    sums[lane] &+= bytes.loadUnaligned(fromByteOffset: cpu * stride + lane * 8, as: UInt64.self)
                }
            }
        }
        return sums
    }

    // MARK: Internals

    private func requireShared(_ what: String) throws {
        if isPerCPU {
            throw DatapathError.invalid("\(what) map \(name)",
                                        "the map is per-CPU: use lookupPerCPU or sumPerCPU")
        }
    }

    /// The raw value bytes at `key` (all CPUs' for a per-CPU map), or nil if absent.
    private func lookupRaw(key: Key) throws -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: isPerCPU ? perCPUStride * possibleCPUs : valueSize)
        let result = withUnsafeBytes(of: key) { k in
            out.withUnsafeMutableBytes { bpf_map_lookup_elem(fd.raw, k.baseAddress, $0.baseAddress) }
        }
        if result == -ENOENT { return nil }
        try check(result, "look up an entry of map \(name)")
        return out
    }

    /// Writes `values` (one, or one per CPU for a per-CPU map) at `key`.
    private func store(key: Key, values: [Value], flags: BPFUpdateFlags) throws {
        let result: Int32
        if isPerCPU {
            var buffer = [UInt8](repeating: 0, count: perCPUStride * possibleCPUs)
            buffer.withUnsafeMutableBytes { raw in
                for (cpu, value) in values.enumerated() {
                    raw.storeBytes(of: value, toByteOffset: cpu * perCPUStride, as: Value.self)
                }
            }
            result = withUnsafeBytes(of: key) { k in
                buffer.withUnsafeBytes { bpf_map_update_elem(fd.raw, k.baseAddress, $0.baseAddress, flags.rawValue) }
            }
        } else {
            guard let value = values.first else { return }
            result = withUnsafeBytes(of: key) { k in
                withUnsafeBytes(of: value) { bpf_map_update_elem(fd.raw, k.baseAddress, $0.baseAddress, flags.rawValue) }
            }
        }
        try check(result, "update an entry of map \(name)")
    }

    private func nextKey(after key: Key?) throws -> Key? {
        try withUnsafeTemporaryAllocation(byteCount: keySize, alignment: MemoryLayout<Key>.alignment) { out in
            let result: Int32
            if let key {
                result = withUnsafeBytes(of: key) { bpf_map_get_next_key(fd.raw, $0.baseAddress, out.baseAddress) }
            } else {
                result = bpf_map_get_next_key(fd.raw, nil, out.baseAddress)
            }
            if result == -ENOENT { return nil }
            try check(result, "iterate the keys of map \(name)")
            return out.loadUnaligned(as: Key.self)
        }
    }
}

/// `BPFMap.count`'s answer: counted entry by entry (`exact`), or estimated from a sample.
public struct EntryCount: Equatable, Sendable {
    public var entries: Int
    public var exact: Bool

    public init(entries: Int, exact: Bool) {
        self.entries = entries
        self.exact = exact
    }
}

/// The kernel's internal ENOTSUPP (524), which batch operations may leak to user space.
let kernelENOTSUPP: Int32 = 524
