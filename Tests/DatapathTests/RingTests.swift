import CLBABI
import Datapath
import TestSupport
import XCTest

/// Rings are stored in chunks of 16 slots; a diff rewrites only the chunks it touches.
final class RingTests: XCTestCase {
    func testChangedSlotsRewriteOnlyTheirChunksAndGiveTheNewRing() throws {
        try requireRoot()
        let limits = try DatapathLimits(maxVIPs: 2, maxBackends: 8, ringSize: 67, connectionTable: 64)
        XCTAssertEqual(limits.chunksPerRing, 5)
        let datapath = try BalancerDatapath.loadUnpinned(limits: limits)
        let old = (0..<67).map { UInt32($0 % 3 + 1) }
        try datapath.writeRing(vipIndex: 1, ring: 1, slots: old)
        XCTAssertEqual(try datapath.readRing(vipIndex: 1, ring: 1), old)
        XCTAssertEqual(try datapath.readRing(vipIndex: 1, ring: 0), [UInt32](repeating: 0, count: 67), "the other ring is untouched")
        var new = old
        for slot in [3, 40, 66] { new[slot] = 7 }
        // Corrupt a chunk the diff does not touch: a chunk-only write must leave it alone.
        var untouched = lb_ring_chunk()
        untouched.slots.1 = 5
        let base = try datapath.ringBase(vipIndex: 1, ring: 1)
        try datapath.rings.update(key: base + 1, value: untouched)
        try datapath.writeRing(vipIndex: 1, ring: 1, slots: new, changedSlots: [3, 40, 66])
        var expected = new
        expected.replaceSubrange(16..<32, with: [0, 5] + [UInt32](repeating: 0, count: 14))
        XCTAssertEqual(try datapath.readRing(vipIndex: 1, ring: 1), expected)
    }

    func testARingOfTheWrongSizeIsRefused() throws {
        try requireRoot()
        let limits = try DatapathLimits(maxVIPs: 2, maxBackends: 8, ringSize: 67, connectionTable: 64)
        let datapath = try BalancerDatapath.loadUnpinned(limits: limits)
        XCTAssertThrowsError(try datapath.writeRing(vipIndex: 0, ring: 0, slots: [1, 2, 3])) { error in
            XCTAssertTrue("\(error)".contains("3 slots given, rings have 67"), "\(error)")
        }
        XCTAssertThrowsError(try datapath.writeRing(vipIndex: 2, ring: 0, slots: [UInt32](repeating: 1, count: 67)))
    }
}
