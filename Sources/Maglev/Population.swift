/// The table population of the Maglev paper (Eisenbud et al., NSDI 2016, pseudocode 1),
/// extended with weights by rounds of integer credit.
///
/// In every round each backend, in canonical order, adds its weight to its credit;
/// while the credit reaches the largest weight it claims its next free preferred slot
/// and pays the largest weight. A backend of the largest weight claims every round,
/// one of weight w claims w/w_max as often, so shares follow the weights at any
/// scale (only ratios matter: multiplying every weight by k gives the same table),
/// and with equal weights this is exactly the paper's algorithm.
struct Population {
    /// One backend with weight > 0 during population.
    struct Cursor {
        /// The backend's next preferred slot.
        var next: UInt32
        let skip: UInt32
        let weight: UInt32
        /// The backend's position in the table's canonical backend list.
        let position: UInt32
        /// Always below the largest weight between turns.
        var credit: UInt64
    }

    /// The slots, each holding a `Cursor.position`. `cursors` must hold at least one
    /// backend, in canonical order; `size` must be prime and ≤ `MaglevTable.maximumSize`.
    static func slots(size: Int, cursors: [Cursor]) -> [UInt32] {
        precondition(!cursors.isEmpty && size > 1 && size <= MaglevTable.maximumSize)
        var cursors = ContiguousArray(cursors)
        let maxWeight = UInt64(cursors.lazy.map(\.weight).max()!)
        // A bitmap of taken slots, rather than checking `slots` itself: it is 32 times
        // smaller, so the random probes of the inner loop stay in cache.
        var taken = ContiguousArray<UInt64>(repeating: 0, count: (size + 63) / 64)
        return [UInt32](unsafeUninitializedCapacity: size) { slots, initialized in
            taken.withUnsafeMutableBufferPointer { taken in
                cursors.withUnsafeMutableBufferPointer { cursors in
                    fill(slots, taken: taken, cursors: cursors, maxWeight: maxWeight)
                }
            }
            initialized = size
        }
    }

    /// The hot loop: every slot is written exactly once, by the claim that fills it.
    /// No modulo: preference lists advance by one addition and one conditional
    /// subtraction (offset and skip are both below the size, and size ≤ 2³¹ − 1 keeps
    /// the sum within UInt32).
    private static func fill(
        _ slots: UnsafeMutableBufferPointer<UInt32>,
        taken: UnsafeMutableBufferPointer<UInt64>,
        cursors: UnsafeMutableBufferPointer<Cursor>,
        maxWeight: UInt64
    ) {
        let size = UInt32(slots.count)
        var remaining = slots.count
        while true {
            for i in 0..<cursors.count {
                cursors[i].credit &+= UInt64(cursors[i].weight)
                guard cursors[i].credit >= maxWeight else { continue }
                cursors[i].credit &-= maxWeight
                let skip = cursors[i].skip
                var slot = cursors[i].next
                while taken[Int(slot &>> 6)] & (1 &<< UInt64(slot & 63)) != 0 {
                    slot = advance(slot, by: skip, size: size)
                }
                taken[Int(slot &>> 6)] |= 1 &<< UInt64(slot & 63)
                slots[Int(slot)] = cursors[i].position
                remaining &-= 1
                if remaining == 0 { return }
                cursors[i].next = advance(slot, by: skip, size: size)
            }
        }
    }

    /// `(slot + skip) mod size` for `slot` and `skip` below `size`, without division or
    /// a branch: if the sum wraps, subtracting `size` gives the smaller value,
    /// otherwise the subtraction underflows to a larger one. A branch here would be
    /// mispredicted about half the time (skips are uniform in 1..<size).
    @inline(__always)
    private static func advance(_ slot: UInt32, by skip: UInt32, size: UInt32) -> UInt32 {
        let sum = slot &+ skip
        return min(sum, sum &- size)
    }
}
