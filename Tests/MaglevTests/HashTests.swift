@testable import Maglev
import XCTest

/// The hash is part of the table format (Maglev.docc/Format.md): pin it to the SipHash reference.
final class HashTests: XCTestCase {
    /// veorq/SipHash vectors.h, SipHash-2-4 with 64-bit output: key 00 01 … 0f,
    /// message 00 01 … (length − 1), the hash written as little-endian bytes.
    private let referenceVectors: [Int: String] = [
        0: "310e0edd47db6f72", 1: "fd67dc93c539f874", 2: "5a4fa9d909806c0d", 3: "2d7efbd796666785",
        4: "b7877127e09427cf", 5: "8da699cd64557618", 6: "cee3fe586e46c9cb", 7: "37d1018bf50002ab",
        8: "6224939a79f5f593", 9: "b0e4a90bdf82009e", 10: "f3b9dd94c5bb5d7a", 11: "a7ad6b22462fb3f4",
        12: "fbe50e86bc8f1e75", 13: "903d84c02756ea14", 14: "eef27a8e90ca23f7", 15: "e545be4961ca29a1",
        16: "db9bc2577fcc2a3f", 31: "42c341d8fa92d832", 32: "ce7cf2722f512771", 63: "724506eb4c328a95",
    ]

    func testSipHashMatchesTheReferenceVectors() {
        let siphash = SipHash24(key: Array(0..<16))
        for (length, expected) in referenceVectors {
            let hash = siphash.hash(Array(0..<UInt8(length)))
            let bytes = (0..<8).map { UInt8(truncatingIfNeeded: hash >> (8 * $0)) }
            XCTAssertEqual(hex(bytes), expected, "message length \(length)")
        }
    }

    /// The key bytes of Maglev.docc/Format.md's table: a typo in either key string
    /// in the code changes them.
    func testPermutationKeysAreTheDocumentedOnes() {
        let identity = ipv4Identity(10, 0, 0, 1)
        let offsetKey: [UInt8] = [
            0x6d, 0x61, 0x67, 0x6c, 0x65, 0x76, 0x2e, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x2e, 0x76, 0x31,
        ]
        let skipKey: [UInt8] = [
            0x6d, 0x61, 0x67, 0x6c, 0x65, 0x76, 0x2e, 0x73, 0x6b, 0x69, 0x70, 0x2e, 0x2e, 0x2e, 0x76, 0x31,
        ]
        XCTAssertEqual(Permutation.offsetHash.hash(identity), SipHash24(key: offsetKey).hash(identity))
        XCTAssertEqual(Permutation.skipHash.hash(identity), SipHash24(key: skipKey).hash(identity))
        XCTAssertNotEqual(Permutation.offsetHash.hash(identity), Permutation.skipHash.hash(identity))
    }

    /// Offsets and skips at M = 65 537, computed by an independent implementation of
    /// Maglev.docc/Format.md (Python, during development) for ::ffff:10.0.0.0, 10.0.0.1, 10.0.0.2 and 10.0.3.232.
    func testOffsetAndSkipMatchAnIndependentImplementation() {
        let expected: [Int: Permutation] = [
            0: Permutation(offset: 60354, skip: 47864), 1: Permutation(offset: 12362, skip: 48507),
            2: Permutation(offset: 62677, skip: 30180), 1000: Permutation(offset: 21087, skip: 10206),
        ]
        for (index, permutation) in expected {
            XCTAssertEqual(Permutation(identity: identity(index), size: 65_537), permutation, "backend \(index)")
        }
    }
}
