extension MaglevBackend {
    /// `backends` in canonical order: ascending lexicographic order of `id`, a proper
    /// prefix before the longer identity. This order decides which backend claims
    /// first in each round of the population, so it is part of the table format.
    ///
    /// Sorts by precomputed 16-byte prefixes rather than by the arrays: moving and
    /// comparing the arrays themselves costs reference counting, and took 4× as long
    /// for 4096 shuffled backends.
    static func canonicalOrder(_ backends: [MaglevBackend]) -> [MaglevBackend] {
        let keys = backends.map { SortKey(id: $0.id) }
        let order = keys.indices.sorted { left, right in
            let (l, r) = (keys[left], keys[right])
            if (l.high, l.low) != (r.high, r.low) { return (l.high, l.low) < (r.high, r.low) }
            // Equal first 16 bytes (counting padding): beyond them only longer identities differ.
            if min(l.count, r.count) > 16 { return backends[left].id.lexicographicallyPrecedes(backends[right].id) }
            return l.count < r.count
        }
        return order.map { backends[$0] }
    }
}

/// The first 16 bytes of an identity as two big-endian words, zero-padded: comparing
/// the words compares those bytes lexicographically. With equal words, an identity of
/// at most 16 bytes is a prefix of the other one, so the shorter one comes first.
private struct SortKey {
    let high: UInt64
    let low: UInt64
    let count: Int

    init(id: [UInt8]) {
        high = Self.word(id, from: 0)
        low = Self.word(id, from: 8)
        count = id.count
    }

    private static func word(_ id: [UInt8], from start: Int) -> UInt64 {
        (start..<start + 8).reduce(0) { word, index in word << 8 | (index < id.count ? UInt64(id[index]) : 0) }
    }
}
