import Maglev
import XCTest
import TestSupport

/// `diff(from:)` is what the reconciler writes: it must be exactly the slots whose
/// backend identity changed.
final class DiffTests: XCTestCase {
    func testIdenticalTablesHaveNoDiff() throws {
        let table = try MaglevTable(backends: equalBackends(20))
        XCTAssertEqual(table.diff(from: table), [])
    }

    /// A new backend that sorts first shifts every position in `slots`; only slots
    /// whose identity changed may be reported.
    func testDiffComparesIdentitiesNotPositions() throws {
        let old = try MaglevTable(backends: (1...20).map { backend($0) })
        let new = try MaglevTable(backends: (0...20).map { backend($0) })
        XCTAssertNotEqual(old.slots.first, new.slots.first)  // positions shifted
        let changed = new.diff(from: old)
        XCTAssertEqual(changed, bruteForceDiff(new, old))
        XCTAssertLessThan(changed.count, old.size / 10)
    }

    /// Writing the diff's slots onto a ring holding the old table gives the new one,
    /// and no slot in the diff was already right.
    func testApplyingTheDiffGivesTheNewTable() throws {
        var random = SplitMix64(seed: 4)
        var backends = (0..<30).map { backend($0, weight: random.next(in: 1...10)) }
        var ring = identities(try MaglevTable(backends: backends))
        for step in 0..<10 {
            let old = try MaglevTable(backends: backends)
            backends[random.next(in: 0...29)] = backend(100 + step, weight: random.next(in: 0...10))
            let new = try MaglevTable(backends: backends)
            let changed = new.diff(from: old)
            let target = identities(new)
            XCTAssertTrue(changed.allSatisfy { ring[$0] != target[$0] }, "step \(step)")
            for slot in changed { ring[slot] = target[slot] }
            XCTAssertEqual(ring, target, "step \(step)")
        }
    }

    /// An empty table has no backend in any slot.
    func testDiffWithEmptyTables() throws {
        let full = try MaglevTable(backends: equalBackends(3), size: 1009)
        let empty = try MaglevTable(backends: (0..<3).map { backend($0, weight: 0) }, size: 1009)
        XCTAssertEqual(empty.diff(from: full), Array(0..<1009))
        XCTAssertEqual(full.diff(from: empty), Array(0..<1009))
        XCTAssertEqual(empty.diff(from: empty), [])
    }

    /// Slot numbers of tables of different sizes are unrelated: every slot is new.
    func testDiffBetweenSizesIsEverySlot() throws {
        let small = try MaglevTable(backends: equalBackends(3), size: 1009)
        let large = try MaglevTable(backends: equalBackends(3), size: 1013)
        XCTAssertEqual(large.diff(from: small), Array(0..<1013))
    }

    func testSlotCountsCoverEveryBackendAndSlot() throws {
        let backends = [backend(0, weight: 3), backend(1, weight: 0), backend(2, weight: 1)]
        let counts = try MaglevTable(backends: backends, size: 1009).slotCounts
        XCTAssertEqual(Set(counts.keys), Set(backends.map(\.id)))
        XCTAssertEqual(counts.values.reduce(0, +), 1009)
        XCTAssertEqual(counts[identity(1)], 0)
        XCTAssertEqual(counts[identity(0)], 757)  // 3/4 of 1009 is 756.75
    }

    private func bruteForceDiff(_ new: MaglevTable, _ old: MaglevTable) -> [Int] {
        let (newIDs, oldIDs) = (identities(new), identities(old))
        return (0..<new.size).filter { newIDs[$0] != oldIDs[$0] }
    }
}
