/// A binary min-heap of timers by deadline, then by arming order (the stamp). An entry
/// whose stamp is no longer its timer's is stale and skipped.
///
/// Entries hold their timer unmanaged (retained on push, released on removal), so
/// sifting moves plain values without reference counting.
struct TimerHeap {
    private struct Entry {
        let deadline: UInt64
        let stamp: UInt64
        let timer: Unmanaged<ReactorTimer>

        var isCurrent: Bool { timer._withUnsafeGuaranteedRef { $0.stamp } == stamp }

        func precedes(_ other: Entry) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : stamp < other.stamp
        }
    }

    private var entries: [Entry] = []

    var count: Int { entries.count }

    mutating func push(_ timer: ReactorTimer, at deadline: UInt64, stamp: UInt64) {
        entries.append(Entry(deadline: deadline, stamp: stamp, timer: .passRetained(timer)))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// The earliest armed deadline; stale entries at the top are dropped on the way.
    mutating func nextDeadline() -> UInt64? {
        while let top = entries.first {
            if top.isCurrent { return top.deadline }
            removeTop().release()
        }
        return nil
    }

    /// The next timer due by `now`, disarmed and removed from the heap.
    mutating func popDue(now: UInt64) -> ReactorTimer? {
        while let top = entries.first, top.deadline <= now || !top.isCurrent {
            let timer = removeTop().takeRetainedValue()
            if timer.stamp == top.stamp {
                timer.stamp = 0
                return timer
            }
        }
        return nil
    }

    private mutating func removeTop() -> Unmanaged<ReactorTimer> {
        let top = entries[0].timer
        let last = entries.removeLast()
        guard !entries.isEmpty else { return top }
        entries[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var first = parent
            if left < entries.count && entries[left].precedes(entries[first]) { first = left }
            if right < entries.count && entries[right].precedes(entries[first]) { first = right }
            guard first != parent else { return top }
            entries.swapAt(parent, first)
            parent = first
        }
    }
}
