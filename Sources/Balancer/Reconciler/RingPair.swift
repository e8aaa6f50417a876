/// What the reconciler knows rings 0 and 1 of one VIP hold, each nil when unknown.
///
/// One ring is kept whole, packed; the other as the slots where it differs from it.
/// The two rings of a VIP are consecutive Maglev tables, which differ in the few slots a
/// change moved (Maglev's minimal disruption), so a VIP costs one packed ring: 64 KiB at
/// the default 65 537 slots and up to 256 backends, instead of 512 KiB for two plain ones.
struct RingPair {
    private var whole: PackedRing?
    private var wholeRing = 0
    private var other = Other.unknown

    private enum Other {
        case unknown
        /// The positions where the other ring differs from `whole`, and its values there.
        case differs(positions: [UInt32], values: [UInt32])
        /// Kept whole too, when it differs in most slots.
        case whole(PackedRing)
    }

    subscript(ring: Int) -> [UInt32]? {
        get {
            if ring == wholeRing { return whole?.slots }
            switch other {
            case .unknown:
                return nil
            case .whole(let packed):
                return packed.slots
            case .differs(let positions, let values):
                guard var slots = whole?.slots else { return nil }
                for (position, value) in zip(positions, values) { slots[Int(position)] = value }
                return slots
            }
        }
        set {
            let kept = self[1 - ring]
            if let newValue {
                whole = PackedRing(newValue)
                wholeRing = ring
                other = kept.map { Self.encode($0, against: newValue) } ?? .unknown
            } else {
                whole = kept.map(PackedRing.init)
                wholeRing = 1 - ring
                other = .unknown
            }
        }
    }

    private static func encode(_ ring: [UInt32], against base: [UInt32]) -> Other {
        guard ring.count == base.count else { return .whole(PackedRing(ring)) }
        var positions: [UInt32] = [], values: [UInt32] = []
        for position in ring.indices where ring[position] != base[position] {
            // Two arrays of differences cost as much as a packed ring at an eighth of it.
            guard positions.count < ring.count / 8 else { return .whole(PackedRing(ring)) }
            positions.append(UInt32(position))
            values.append(ring[position])
        }
        return .differs(positions: positions, values: values)
    }
}

/// A ring's slots as codes into a palette of its distinct values: one byte per slot when
/// the ring names at most 256 backends (the common case), else two bytes when every
/// index fits, else four.
struct PackedRing {
    private let storage: Storage

    private enum Storage {
        case bytes(palette: [UInt32], codes: [UInt8])
        case halfwords([UInt16])
        case words([UInt32])
    }

    init(_ slots: [UInt32]) {
        guard let largest = slots.max(), largest <= UInt16.max else {
            storage = .words(slots)
            return
        }
        // Codes by value in a flat table: backend indices are small, and hashing every
        // slot would cost more than the Maglev table did.
        var codes = [UInt16](repeating: .max, count: Int(largest) + 1)
        var palette: [UInt32] = []
        for value in slots where codes[Int(value)] == .max {
            guard palette.count <= Int(UInt8.max) else {
                storage = .halfwords(slots.map { UInt16($0) })
                return
            }
            codes[Int(value)] = UInt16(palette.count)
            palette.append(value)
        }
        storage = .bytes(palette: palette, codes: slots.map { UInt8(codes[Int($0)]) })
    }

    var slots: [UInt32] {
        switch storage {
        case .bytes(let palette, let codes): codes.map { palette[Int($0)] }
        case .halfwords(let values): values.map { UInt32($0) }
        case .words(let values): values
        }
    }
}
