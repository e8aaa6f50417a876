@_spi(Benchmark) import Maglev
import XCTest

/// Refused input gets a specific error and a message that says what to change.
final class ValidationTests: XCTestCase {
    func testEmptyBackendSet() {
        assertRefused(try MaglevTable(backends: []), .emptyBackendSet,
                      "maglev: the backend set is empty; a table needs at least one backend")
    }

    /// A duplicate identity is refused even with different weights.
    func testDuplicateBackend() {
        let backends = [backend(1), backend(2), backend(1, weight: 5)]
        assertRefused(try MaglevTable(backends: backends), .duplicateBackend(id: identity(1)),
                      "maglev: backend 00000000000000000000ffff0a000001 appears more than once")
    }

    func testNegativeWeight() {
        assertRefused(try MaglevBackend(id: [10, 0, 0, 1], weight: -1), .negativeWeight(id: [10, 0, 0, 1], weight: -1),
                      "maglev: backend 0a000001 has negative weight -1; weights are 0...4294967295")
    }

    func testWeightTooLarge() throws {
        assertRefused(try MaglevBackend(id: [10, 0, 0, 1], weight: 1 << 32),
                      .weightTooLarge(id: [10, 0, 0, 1], weight: 1 << 32),
                      "maglev: backend 0a000001 has weight 4294967296; weights are 0...4294967295")
        XCTAssertEqual(try MaglevBackend(id: [1], weight: Int(UInt32.max)).weight, UInt32.max)
    }

    func testNonPrimeSize() {
        assertRefused(try MaglevTable(backends: equalBackends(3), size: 1000), .tableSizeNotPrime(size: 1000),
                      "maglev: table size 1000 is not prime (nearest larger prime: 1009)")
        for size in [-7, 0, 1, 65_536] {
            assertRefused(try MaglevTable(backends: [backend(0)], size: size), .tableSizeNotPrime(size: size))
        }
    }

    func testSizeTooSmallForTheBackends() throws {
        XCTAssertEqual(try MaglevTable(backends: equalBackends(10), size: 1009).size, 1009)
        assertRefused(try MaglevTable(backends: equalBackends(11), size: 1009),
                      .tableSizeTooSmall(size: 1009, backendCount: 11, minimum: 1100),
                      "maglev: table size 1009 is too small for 11 backends; "
                        + "it must be at least 1100 (smallest prime: 1103)")
        // Backends of weight 0 count: undraining one must not make the set invalid.
        let drained = equalBackends(10) + [backend(10, weight: 0)]
        assertRefused(try MaglevTable(backends: drained, size: 1009),
                      .tableSizeTooSmall(size: 1009, backendCount: 11, minimum: 1100))
    }

    func testSizeTooLarge() {
        assertRefused(try MaglevTable(backends: [backend(0)], size: 1 << 31), .tableSizeTooLarge(size: 1 << 31),
                      "maglev: table size 2147483648 exceeds the maximum 2147483647")
    }

    /// The benchmark's entry point lifts only the minimum per backend.
    func testBenchmarkEntryPointOnlyLiftsTheMinimum() throws {
        assertRefused(try MaglevTable(backends: equalBackends(4096)),
                      .tableSizeTooSmall(size: 65_537, backendCount: 4096, minimum: 409_600))
        let table = try MaglevTable(backends: equalBackends(4096), size: 65_537, minimumSlotsPerBackend: 0)
        XCTAssertEqual(Set(table.slotCounts.values), [16, 17])
        assertRefused(try MaglevTable(backends: equalBackends(2), size: 1000, minimumSlotsPerBackend: 0),
                      .tableSizeNotPrime(size: 1000))
    }

    func testLocalizedDescriptionIsTheMessage() {
        let error: any Error = MaglevError.emptyBackendSet
        XCTAssertEqual(error.localizedDescription, MaglevError.emptyBackendSet.description)
    }

    private func assertRefused<T>(
        _ expression: @autoclosure () throws -> T, _ expected: MaglevError, _ message: String? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            XCTAssertEqual(error as? MaglevError, expected, file: file, line: line)
            if let message {
                XCTAssertEqual((error as? MaglevError)?.description, message, file: file, line: line)
            }
        }
    }
}
