@testable import Maglev
import XCTest
import TestSupport

/// The population skips backends that are not due in a round; it must give exactly the
/// table of the plain rounds that Maglev.docc/Format.md describes.
final class PopulationTests: XCTestCase {
    func testMatchesThePlainRounds() throws {
        var random = SplitMix64(seed: 5)
        let weightSets: [[Int]] = [
            Array(repeating: 1, count: 10),
            [1, 2, 3],
            [1, 100],
            [Int(UInt32.max), 1, 1, 1, 1, 1, 1, 1, 1, 1],
            [1000, 999, 500, 499, 2, 1, 0, 1000],
            (0..<40).map { _ in random.next(in: 0...1000) },
            (0..<40).map { _ in 1 << random.next(in: 0...31) },
        ]
        for weights in weightSets {
            let backends = weights.enumerated().map { backend($0, weight: $1) }
            for size in [4001, 65_537] {
                let table = try MaglevTable(backends: backends, size: size)
                let expected = plainRounds(table.backends, size: size)
                let differing = table.slots.indices.first { table.slots[$0] != expected[$0] }
                XCTAssertNil(differing, "weights \(weights), M=\(size): first differing slot")
            }
        }
    }

    /// Format.md's population, one backend at a time, every backend every round.
    private func plainRounds(_ backends: [MaglevBackend], size: Int) -> [UInt32] {
        let maxWeight = UInt64(backends.map(\.weight).max()!)
        var state = backends.map { (permutation: Permutation(identity: $0.id, size: UInt32(size)), credit: UInt64(0)) }
        var next = state.map { Int($0.permutation.offset) }
        var slots = [UInt32?](repeating: nil, count: size)
        var remaining = size
        while true {
            for (position, backend) in backends.enumerated() where backend.weight > 0 {
                state[position].credit += UInt64(backend.weight)
                guard state[position].credit >= maxWeight else { continue }
                state[position].credit -= maxWeight
                let skip = Int(state[position].permutation.skip)
                while slots[next[position]] != nil { next[position] = (next[position] + skip) % size }
                slots[next[position]] = UInt32(position)
                next[position] = (next[position] + skip) % size
                remaining -= 1
                if remaining == 0 { return slots.map { $0! } }
            }
        }
    }
}
