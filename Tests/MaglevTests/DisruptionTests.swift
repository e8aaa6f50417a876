import Maglev
import XCTest

/// Changing the backend set moves few flows: the bounds, for M = 65 537.
final class DisruptionTests: XCTestCase {
    private let size = MaglevTable.defaultSize

    /// The removed backend's slots must move; at most 1% of M others may.
    func testRemovingOneBackendMovesLittleElse() throws {
        for count in [10, 100, 655] {
            let backends = equalBackends(count)
            let before = try MaglevTable(backends: backends)
            let removed = backends[count / 2]
            var remaining = backends
            remaining.remove(at: count / 2)
            let changed = try MaglevTable(backends: remaining).diff(from: before)

            let removedSlots = Set((0..<size).filter { before.backend(atSlot: $0) == removed })
            XCTAssertTrue(removedSlots.isSubset(of: changed), "N=\(count)")
            let others = changed.count - removedSlots.count
            XCTAssertLessThanOrEqual(Double(others), 0.01 * Double(size), "N=\(count): \(others) other slots moved")
        }
    }

    /// At most 1/(N + 1) of M (the newcomer's share) plus 1% of M.
    func testAddingOneBackendMovesLittleMoreThanItsShare() throws {
        for count in [10, 100, 654] {
            let backends = equalBackends(count)
            let before = try MaglevTable(backends: backends)
            let after = try MaglevTable(backends: backends + [backend(count)])
            let changed = after.diff(from: before).count
            let bound = Double(size) / Double(count + 1) + 0.01 * Double(size)
            XCTAssertLessThanOrEqual(Double(changed), bound, "N=\(count): \(changed) slots moved")
        }
    }

    /// Weight 0 takes a backend out of the population entirely: draining one moves
    /// the same slots as removing it, and a drained backend disturbs nothing.
    func testDrainingIsRemoving() throws {
        let backends = equalBackends(100)
        var drained = backends
        drained[40] = backend(40, weight: 0)
        var removed = backends
        removed.remove(at: 40)
        let drainedTable = try MaglevTable(backends: drained)
        XCTAssertEqual(drainedTable.diff(from: try MaglevTable(backends: removed)), [])
        XCTAssertEqual(drainedTable.slotCounts[identity(40)], 0)
    }
}
