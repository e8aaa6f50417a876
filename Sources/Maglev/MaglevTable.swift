/// A Maglev lookup table: `size` slots, each naming the backend that new flows hashing
/// to it go to.
///
/// The table is a pure function of the *set* of (identity, weight) pairs and the size:
/// the order backends are given in does not matter, and the same set gives the
/// byte-identical table on every machine and every run (Maglev.docc/Format.md), so
/// load balancer nodes behind ECMP agree on every flow without talking to each other.
public struct MaglevTable: Sendable, Equatable {
    /// 65 537 (prime): 1–2 ms to populate, balanced within 1% up to 655 backends.
    public static let defaultSize = 65_537
    /// Sizes below 100 × backends are refused: the Maglev paper's rule for shares
    /// within about 1% of the weights.
    public static let minimumSlotsPerBackend = 100
    /// 2³¹ − 1, the largest prime whose slot arithmetic fits in `UInt32`.
    public static let maximumSize = 2_147_483_647

    /// Number of slots (prime).
    public let size: Int
    /// Every backend given, weight 0 included, in canonical order: ascending
    /// lexicographic order of `id`.
    public let backends: [MaglevBackend]
    /// For each slot, the position in `backends` of its backend; `size` entries, or
    /// none when `isEmpty`.
    public let slots: [UInt32]

    /// True when every backend has weight 0: the table has no slots and new flows to
    /// its service have nowhere to go (the datapath drops them).
    public var isEmpty: Bool { slots.isEmpty }

    /// Builds the table of `backends` with `size` slots.
    ///
    /// Refuses an empty set, a duplicate identity, and a size that is not prime, above
    /// `maximumSize`, or below `minimumSlotsPerBackend` × `backends.count`. Backends of
    /// weight 0 count towards that minimum, so draining a backend and undraining it
    /// again can never turn a valid set into an invalid one.
    public init(backends: [MaglevBackend], size: Int = defaultSize) throws(MaglevError) {
        try self.init(backends: backends, size: size, minimumSlotsPerBackend: Self.minimumSlotsPerBackend)
    }

    /// As `init(backends:size:)` with another minimum number of slots per backend: for
    /// benchmarks that measure sizes the public initialiser refuses.
    @_spi(Benchmark)
    public init(backends: [MaglevBackend], size: Int, minimumSlotsPerBackend: Int) throws(MaglevError) {
        let sorted = MaglevBackend.canonicalOrder(backends)
        try Self.validate(sorted: sorted, size: size, minimumSlotsPerBackend: minimumSlotsPerBackend)
        self.size = size
        self.backends = sorted
        self.slots = Self.populate(sorted: sorted, size: size)
    }

    /// The backend new flows hashing to `slot` (in `0..<size`) go to; nil when the
    /// table is empty.
    public func backend(atSlot slot: Int) -> MaglevBackend? {
        precondition((0..<size).contains(slot), "slot \(slot) outside 0..<\(size)")
        return isEmpty ? nil : backends[Int(slots[slot])]
    }

    /// The slots whose backend identity differs from `old`'s, ascending: writing the
    /// backends of exactly these slots turns a ring holding `old` into one holding this
    /// table. Identities are compared, not positions, so a backend whose position
    /// shifted because another was added or removed does not count as a change.
    /// Empty tables have no backend in any slot; tables of different sizes differ in
    /// every slot, since their slot numbers are unrelated.
    public func diff(from old: MaglevTable) -> [Int] {
        guard size == old.size else { return Array(0..<size) }
        switch (isEmpty, old.isEmpty) {
        case (true, true): return []
        case (false, false): return changedSlots(from: old)
        default: return Array(0..<size)
        }
    }

    /// Number of slots per backend identity, every backend included (weight 0: 0).
    /// Computed from `slots` on each call, in O(size).
    public var slotCounts: [[UInt8]: Int] {
        var counts = [Int](repeating: 0, count: backends.count)
        for position in slots { counts[Int(position)] += 1 }
        return Dictionary(uniqueKeysWithValues: zip(backends.map(\.id), counts))
    }

    private static func validate(sorted: [MaglevBackend], size: Int, minimumSlotsPerBackend: Int) throws(MaglevError) {
        guard !sorted.isEmpty else { throw .emptyBackendSet }
        for (left, right) in zip(sorted, sorted.dropFirst()) where left.id == right.id {
            throw .duplicateBackend(id: left.id)
        }
        // Size before primality: trial division of a huge size would take long.
        guard size <= maximumSize else { throw .tableSizeTooLarge(size: size) }
        guard isPrime(size) else { throw .tableSizeNotPrime(size: size) }
        let (minimum, overflow) = sorted.count.multipliedReportingOverflow(by: minimumSlotsPerBackend)
        guard !overflow, size >= minimum else {
            throw .tableSizeTooSmall(size: size, backendCount: sorted.count, minimum: minimum)
        }
    }

    private static func populate(sorted: [MaglevBackend], size: Int) -> [UInt32] {
        let cursors = sorted.enumerated().compactMap { position, backend -> Population.Cursor? in
            guard backend.weight > 0 else { return nil }
            let permutation = Permutation(identity: backend.id, size: UInt32(size))
            return Population.Cursor(
                next: permutation.offset, skip: permutation.skip,
                weight: backend.weight, position: UInt32(position), credit: 0)
        }
        return cursors.isEmpty ? [] : Population.slots(size: size, cursors: cursors)
    }

    /// Both tables non-empty and of the same size.
    private func changedSlots(from old: MaglevTable) -> [Int] {
        let newPositions = Dictionary(uniqueKeysWithValues: backends.enumerated().map { ($1.id, UInt32($0)) })
        // Old position → new position of the same identity; UInt32.max when it is gone.
        let translated = old.backends.map { newPositions[$0.id] ?? .max }
        return slots.indices.filter { translated[Int(old.slots[$0])] != slots[$0] }
    }
}
