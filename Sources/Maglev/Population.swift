/// The table population of the Maglev paper (Eisenbud et al., NSDI 2016, pseudocode 1),
/// extended with weights by rounds of integer credit.
///
/// In every round each backend, in canonical order, adds its weight to its credit;
/// when the credit reaches the largest weight it claims its next free preferred slot
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
        /// Below the largest weight between claims. For a backend in the queue: its
        /// credit just after its next, scheduled, claim.
        var credit: UInt64
    }

    /// The slots, each holding a `Cursor.position`. `cursors` must hold at least one
    /// backend, in canonical order; `size` must be prime and ≤ `MaglevTable.maximumSize`.
    static func slots(size: Int, cursors: [Cursor]) -> [UInt32] {
        precondition(!cursors.isEmpty && size > 1 && size <= MaglevTable.maximumSize)
        var cursors = ContiguousArray(cursors)
        // A bitmap of taken slots, rather than checking `slots` itself: it is 32 times
        // smaller, so the random probes of the inner loop stay in cache.
        var taken = ContiguousArray<UInt64>(repeating: 0, count: (size + 63) / 64)
        return [UInt32](unsafeUninitializedCapacity: size) { slots, initialized in
            taken.withUnsafeMutableBufferPointer { taken in
                cursors.withUnsafeMutableBufferPointer { cursors in
                    var table = Filling(slots: slots, taken: taken)
                    runRounds(&table, cursors: cursors)
                }
            }
            initialized = size
        }
    }

    /// Backends that claim at least once in `visitRatio` rounds are visited every
    /// round. The others wait in a queue for the round of their next claim: visiting
    /// every backend every round costs M × N steps when one weight dwarfs the others
    /// (4.3 s for N = 6553, M = 655 373; 6 ms this way). A queued claim costs about
    /// 2·log₂N heap steps, a visit one step: 4 was the fastest ratio measured for
    /// mixed weights.
    private static let visitRatio: UInt64 = 4

    private static func runRounds(_ table: inout Filling, cursors: UnsafeMutableBufferPointer<Cursor>) {
        let maxWeight = UInt64(cursors.lazy.map(\.weight).max()!)
        let isVisited = { (index: Int) in visitRatio * UInt64(cursors[index].weight) >= maxWeight }
        let everyRound = cursors.indices.filter(isVisited)
        var queue = ClaimQueue()
        for index in cursors.indices where !isVisited(index) {
            schedule(index, after: 0, cursors: cursors, maxWeight: maxWeight, size: table.size, in: &queue)
        }
        // The largest weight claims every round, so some backend claims in each.
        var round: UInt64 = 1
        while true {
            for index in everyRound {
                while let due = queue.popDue(round: round, before: index) {
                    guard table.claim(&cursors[due]) else { return }
                    schedule(due, after: round, cursors: cursors, maxWeight: maxWeight, size: table.size, in: &queue)
                }
                cursors[index].credit &+= UInt64(cursors[index].weight)
                guard cursors[index].credit >= maxWeight else { continue }
                cursors[index].credit &-= maxWeight
                guard table.claim(&cursors[index]) else { return }
            }
            while let due = queue.popDue(round: round, before: cursors.count) {
                guard table.claim(&cursors[due]) else { return }
                schedule(due, after: round, cursors: cursors, maxWeight: maxWeight, size: table.size, in: &queue)
            }
            round &+= 1
        }
    }

    /// Queues the next claim of the backend at `index`, which last claimed (or
    /// started) in `round` with its credit then: the first round whose credit gain
    /// reaches `maxWeight`. Rounds beyond `size` never come: the table is full by then.
    private static func schedule(
        _ index: Int, after round: UInt64, cursors: UnsafeMutableBufferPointer<Cursor>,
        maxWeight: UInt64, size: UInt32, in queue: inout ClaimQueue
    ) {
        let weight = UInt64(cursors[index].weight)
        let rounds = (maxWeight - cursors[index].credit + weight - 1) / weight
        cursors[index].credit = cursors[index].credit + rounds * weight - maxWeight
        if round + rounds <= UInt64(size) { queue.insert(round: round + rounds, index: index) }
    }
}

/// The slots being filled, and which are taken.
private struct Filling {
    let slots: UnsafeMutableBufferPointer<UInt32>
    let taken: UnsafeMutableBufferPointer<UInt64>
    let size: UInt32
    private var remaining: Int

    init(slots: UnsafeMutableBufferPointer<UInt32>, taken: UnsafeMutableBufferPointer<UInt64>) {
        self.slots = slots
        self.taken = taken
        size = UInt32(slots.count)
        remaining = slots.count
    }

    /// Gives `cursor` its next free preferred slot; false once every slot is taken.
    /// The hot loop: no modulo, one addition and a conditional subtraction per probe.
    @inline(__always)
    mutating func claim(_ cursor: inout Population.Cursor) -> Bool {
        var slot = cursor.next
        while taken[Int(slot &>> 6)] & (1 &<< UInt64(slot & 63)) != 0 {
            slot = advance(slot, by: cursor.skip)
        }
        taken[Int(slot &>> 6)] |= 1 &<< UInt64(slot & 63)
        slots[Int(slot)] = cursor.position
        cursor.next = advance(slot, by: cursor.skip)
        remaining &-= 1
        return remaining > 0
    }

    /// `(slot + skip) mod size` for `slot` and `skip` below `size` (≤ 2³¹ − 1, so the
    /// sum fits), without a branch: if the sum wraps, subtracting `size` gives the
    /// smaller value, otherwise the subtraction underflows to a larger one. A branch
    /// would be mispredicted about half the time, as skips are uniform in 1..<size.
    @inline(__always)
    private func advance(_ slot: UInt32, by skip: UInt32) -> UInt32 {
        let sum = slot &+ skip
        return min(sum, sum &- size)
    }
}

/// Backends waiting for a later round, first by round, then in canonical order: a
/// binary min-heap of `round << 32 | cursor index` (rounds stay below 2³¹).
private struct ClaimQueue {
    private var keys: ContiguousArray<UInt64> = []

    mutating func insert(round: UInt64, index: Int) {
        keys.append(round << 32 | UInt64(index))
        var child = keys.count - 1
        while child > 0, keys[(child - 1) / 2] > keys[child] {
            keys.swapAt(child, (child - 1) / 2)
            child = (child - 1) / 2
        }
    }

    /// Removes and returns the first backend due in `round` before cursor `index`.
    @inline(__always)
    mutating func popDue(round: UInt64, before index: Int) -> Int? {
        guard let first = keys.first, first < round << 32 | UInt64(index) else { return nil }
        removeFirst()
        return Int(first & 0xffff_ffff)
    }

    private mutating func removeFirst() {
        let last = keys.removeLast()
        guard !keys.isEmpty else { return }
        keys[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < keys.count else { return }
            let child = left + 1 < keys.count && keys[left + 1] < keys[left] ? left + 1 : left
            guard keys[child] < keys[parent] else { return }
            keys.swapAt(parent, child)
            parent = child
        }
    }
}
