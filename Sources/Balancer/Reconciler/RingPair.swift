/// What the reconciler knows rings 0 and 1 of one VIP hold, each nil when unknown.
///
/// One ring is kept whole; the other as the slots where it differs from it. The two
/// rings of a VIP are consecutive Maglev tables, which differ in the few slots a change
/// moved (Maglev's minimal disruption), so a VIP costs one ring of memory instead of
/// two: 256 KiB less per VIP at the default 65 537 slots.
struct RingPair {
    private var whole: [UInt32]?
    private var wholeRing = 0
    private var other = Other.unknown

    private enum Other {
        case unknown
        /// The positions where the other ring differs from `whole`, and its values there.
        case differs(positions: [UInt32], values: [UInt32])
        /// Kept whole too, when it differs in most slots.
        case whole([UInt32])
    }

    subscript(ring: Int) -> [UInt32]? {
        get {
            if ring == wholeRing { return whole }
            switch other {
            case .unknown:
                return nil
            case .whole(let slots):
                return slots
            case .differs(let positions, let values):
                guard var slots = whole else { return nil }
                for (position, value) in zip(positions, values) { slots[Int(position)] = value }
                return slots
            }
        }
        set {
            let kept = self[1 - ring]
            if let newValue {
                whole = newValue
                wholeRing = ring
                other = kept.map { Self.encode($0, against: newValue) } ?? .unknown
            } else {
                whole = kept
                wholeRing = 1 - ring
                other = .unknown
            }
        }
    }

    private static func encode(_ ring: [UInt32], against base: [UInt32]) -> Other {
        guard ring.count == base.count else { return .whole(ring) }
        var positions: [UInt32] = [], values: [UInt32] = []
        for position in ring.indices where ring[position] != base[position] {
            // Two arrays of differences cost as much as the ring at half of it.
            guard positions.count < ring.count / 2 else { return .whole(ring) }
            positions.append(UInt32(position))
            values.append(ring[position])
        }
        return .differs(positions: positions, values: values)
    }
}
