import Maglev
import XCTest
import TestSupport

/// Shares of the default 65 537-slot table against the 1% goals of issue #3.
final class BalanceTests: XCTestCase {
    private let size = MaglevTable.defaultSize

    /// Equal weights: every backend within 1% of M/N; in fact the rounds give each
    /// backend ⌊M/N⌋ or ⌈M/N⌉ slots, which is asserted as well.
    func testEqualBackendsGetEqualShares() throws {
        for count in [10, 100, 655] {
            let table = try MaglevTable(backends: equalBackends(count))
            let fair = Double(size) / Double(count)
            for (id, slots) in table.slotCounts {
                XCTAssertLessThanOrEqual(abs(Double(slots) - fair), 0.01 * fair, "N=\(count) backend \(id)")
                XCTAssertTrue((size / count)...((size + count - 1) / count) ~= slots, "N=\(count): \(slots) slots")
            }
        }
    }

    func testWeightsOneTwoThree() throws {
        try assertSharesFollowWeights([1, 2, 3], relativeErrorApplies: true)
    }

    func testWeightsOneToHundred() throws {
        try assertSharesFollowWeights([1, 100], relativeErrorApplies: true)
    }

    func testRandomWeights() throws {
        var random = SplitMix64(seed: 3)
        let weights = (0..<10).map { _ in random.next(in: 1...1000) }
        try assertSharesFollowWeights(weights, relativeErrorApplies: true)
    }

    /// A share of 6.5 slots cannot be within 1% (one slot is 15%): only the slot
    /// bound applies.
    func testTinyShareStaysWithinTheSlotBound() throws {
        try assertSharesFollowWeights([1, 10_000], relativeErrorApplies: false)
    }

    /// Only ratios matter, whatever the sum is relative to M (Katran's first weighted
    /// version needed the weights to sum to about M): the tables are identical.
    func testWeightScaleDoesNotChangeTheTable() throws {
        let small = try MaglevTable(backends: weighted([1, 2, 3]))
        for scale in [7, 10_000, 1_000_000, 1_431_655_765] {  // 3 × the last = UInt32.max
            let scaled = try MaglevTable(backends: weighted([1 * scale, 2 * scale, 3 * scale]))
            XCTAssertEqual(scaled.slots, small.slots, "scale \(scale)")
        }
    }

    func testZeroWeightGetsNoSlots() throws {
        let backends = (0..<10).map { backend($0, weight: $0 == 4 ? 0 : 1) }
        let counts = try MaglevTable(backends: backends).slotCounts
        XCTAssertEqual(counts[identity(4)], 0)
        let fair = Double(size) / 9
        for index in 0..<10 where index != 4 {
            XCTAssertLessThanOrEqual(abs(Double(counts[identity(index)]!) - fair), 0.01 * fair)
        }
    }

    func testAllWeightsZeroGiveAnEmptyTable() throws {
        let table = try MaglevTable(backends: (0..<3).map { backend($0, weight: 0) })
        XCTAssertTrue(table.isEmpty)
        XCTAssertEqual(table.slots, [])
        XCTAssertEqual(table.size, size)
        XCTAssertEqual(table.backends.map(\.id), (0..<3).map(identity))
        XCTAssertNil(table.backend(atSlot: 0))
        XCTAssertEqual(table.slotCounts, [identity(0): 0, identity(1): 0, identity(2): 0])
    }

    private func weighted(_ weights: [Int]) -> [MaglevBackend] {
        weights.enumerated().map { backend($0, weight: $1) }
    }

    /// The criterion, from the rounds: after r whole rounds backend i has claimed
    /// ⌊r·wᵢ/w_max⌋ slots, and the table fills during some round, so its count nᵢ and
    /// exact share eᵢ = M·wᵢ/Σw satisfy
    ///     −(1 + wᵢ/w_max) ≤ nᵢ − eᵢ ≤ wᵢ/w_max + N·wᵢ/Σw,
    /// asserted for every backend. Relative to eᵢ that is at most 2/eᵢ below and
    /// (Σw/w_max + N)/M above: the 1% goal holds for every share of at least 200 slots
    /// (when N ≤ M/200), which `relativeErrorApplies` asserts, checking that every
    /// share is that large so the check cannot be skipped silently.
    private func assertSharesFollowWeights(
        _ weights: [Int], relativeErrorApplies: Bool, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let counts = try MaglevTable(backends: weighted(weights)).slotCounts
        let total = Double(weights.reduce(0, +))
        let maxWeight = Double(weights.max()!)
        for (index, weight) in weights.enumerated() {
            let expected = Double(size) * Double(weight) / total
            let error = Double(counts[identity(index)]!) - expected
            let context = "weights \(weights): backend \(index) is \(error) slots off its share \(expected)"
            XCTAssertGreaterThanOrEqual(error, -(1 + Double(weight) / maxWeight), context, file: file, line: line)
            XCTAssertLessThanOrEqual(
                error, Double(weight) / maxWeight + Double(weights.count) * Double(weight) / total, context,
                file: file, line: line)
            if relativeErrorApplies {
                XCTAssertGreaterThanOrEqual(expected, 200, context, file: file, line: line)
                XCTAssertLessThanOrEqual(abs(error), 0.01 * expected, context, file: file, line: line)
            }
        }
    }
}
