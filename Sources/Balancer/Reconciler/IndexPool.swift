/// Free indices of a map, handed out lowest first so that assignments are predictable
/// and the used part of a map stays dense.
struct IndexPool {
    let range: Range<UInt32>
    /// The lowest index never handed out; every index from here up is free.
    private var next: UInt32
    /// Indices below `next` given back, in descending order (the lowest last).
    private var released: [UInt32] = []

    init(_ range: Range<UInt32>) {
        self.range = range
        next = range.lowerBound
    }

    mutating func allocate() -> UInt32? {
        if let index = released.popLast() { return index }
        guard next < range.upperBound else { return nil }
        defer { next += 1 }
        return next
    }

    /// Gives `index` (handed out earlier) back.
    mutating func release(_ index: UInt32) {
        let position = released.partitioningIndex { $0 < index }
        released.insert(index, at: position)
    }

    /// Takes `index` out of the pool: it is in use already (adopted from the maps).
    mutating func reserve(_ index: UInt32) {
        if index >= next {
            // The skipped indices are above every released one: they go first, descending.
            released.insert(contentsOf: (next..<index).reversed(), at: 0)
            next = index + 1
        } else if let position = released.firstIndex(of: index) {
            released.remove(at: position)
        }
    }
}

private extension Array {
    /// The first position whose element satisfies `belongsAfter`, for an array where
    /// every element satisfying it follows every element that does not.
    func partitioningIndex(where belongsAfter: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if belongsAfter(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
