@testable import Balancer
import TestSupport
import XCTest

/// The reconciler's memory of a VIP's two rings gives back exactly what was stored,
/// whichever ring is kept whole and however far the two differ.
final class RingPairTests: XCTestCase {
    func testUnknownUntilSet() {
        var pair = RingPair()
        XCTAssertNil(pair[0])
        XCTAssertNil(pair[1])
        pair[1] = [1, 2, 3]
        XCTAssertNil(pair[0])
        XCTAssertEqual(pair[1], [1, 2, 3])
    }

    func testFlipsKeepBothRings() {
        var pair = RingPair()
        pair[0] = [1, 1, 2, 2]
        pair[1] = [1, 3, 2, 2]
        XCTAssertEqual(pair[0], [1, 1, 2, 2])
        XCTAssertEqual(pair[1], [1, 3, 2, 2])
        pair[0] = [4, 3, 2, 2]
        XCTAssertEqual(pair[0], [4, 3, 2, 2])
        XCTAssertEqual(pair[1], [1, 3, 2, 2])
    }

    func testForgettingOneRingKeepsTheOther() {
        var pair = RingPair()
        pair[0] = [1, 2]
        pair[1] = [2, 2]
        pair[1] = nil
        XCTAssertEqual(pair[0], [1, 2])
        XCTAssertNil(pair[1])
        pair[0] = nil
        XCTAssertNil(pair[0])
        XCTAssertNil(pair[1])
    }

    func testRingsThatDifferEverywhereOrInSize() {
        var pair = RingPair()
        pair[0] = [1, 2, 3, 4]
        pair[1] = [5, 6, 7, 8]
        XCTAssertEqual(pair[0], [1, 2, 3, 4])
        XCTAssertEqual(pair[1], [5, 6, 7, 8])
        pair[1] = [9]
        XCTAssertEqual(pair[0], [1, 2, 3, 4])
        XCTAssertEqual(pair[1], [9])
    }

    /// Random writes against a plain two-array model.
    func testRandomWritesMatchTwoArrays() {
        var random = SplitMix64(seed: 11)
        var pair = RingPair()
        var model: [[UInt32]?] = [nil, nil]
        for step in 0..<2_000 {
            let ring = Int.random(in: 0...1, using: &random)
            var value: [UInt32]? = model[1 - ring] ?? (0..<64).map { _ in UInt32.random(in: 1...4, using: &random) }
            for _ in 0..<Int.random(in: 0...40, using: &random) {
                value![Int.random(in: 0..<64, using: &random)] = UInt32.random(in: 1...4, using: &random)
            }
            if Int.random(in: 0..<20, using: &random) == 0 { value = nil }
            pair[ring] = value
            model[ring] = value
            XCTAssertEqual(pair[0], model[0], "step \(step)")
            XCTAssertEqual(pair[1], model[1], "step \(step)")
        }
    }
}

/// Packing gives back the slots exactly, at every width.
final class PackedRingTests: XCTestCase {
    func testEveryWidthRoundTrips() {
        var random = SplitMix64(seed: 13)
        let cases: [[UInt32]] = [
            [],
            [7],
            (0..<1009).map { _ in UInt32.random(in: 1...256, using: &random) },   // 256 values: bytes
            (0..<1009).map { UInt32($0 % 257) + 1 },                              // 257 values: halfwords
            (0..<1009).map { _ in UInt32.random(in: 60_000...65_535, using: &random) },
            (0..<1009).map { _ in UInt32.random(in: 1...4, using: &random) } + [65_536],  // words
            [UInt32.max, 0, UInt32.max],
        ]
        for slots in cases {
            XCTAssertEqual(PackedRing(slots).slots, slots)
        }
    }
}
