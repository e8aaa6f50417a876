import Foundation
import Maglev
import XCTest
import TestSupport

/// Every node must build the byte-identical table from the same set of backends.
final class DeterminismTests: XCTestCase {
    func testPermutedInputsGiveIdenticalTables() throws {
        var random = SplitMix64(seed: 1)
        let equal = equalBackends(100)
        let weighted = (0..<50).map { backend($0 * 7, weight: random.next(in: 0...1000)) }
        for backends in [equal, weighted] {
            let reference = try MaglevTable(backends: backends)
            for _ in 0..<5 {
                let permuted = try MaglevTable(backends: random.shuffled(backends))
                XCTAssertEqual(permuted.backends, reference.backends)
                XCTAssertEqual(permuted.slots, reference.slots)
            }
            XCTAssertEqual(try MaglevTable(backends: backends.reversed()).slots, reference.slots)
        }
    }

    /// Canonical order is byte order, a proper prefix first, also for identities
    /// longer than 16 bytes (sorted by a different path) and of mixed lengths.
    func testBackendsAreInCanonicalOrder() throws {
        let ids: [[UInt8]] = [
            [], [0], [0, 0], [0, 1], [1], [0xff], Array(repeating: 7, count: 16),
            Array(repeating: 7, count: 16) + [0], Array(repeating: 7, count: 16) + [1],
            Array(repeating: 7, count: 16) + [0, 9], Array(repeating: 7, count: 17), Array(repeating: 7, count: 15),
        ]
        var random = SplitMix64(seed: 2)
        let backends = try random.shuffled(ids).map { try MaglevBackend(id: $0, weight: 1) }
        let table = try MaglevTable(backends: backends, size: 1201)
        XCTAssertEqual(table.backends.map(\.id), ids.sorted { $0.lexicographicallyPrecedes($1) })
    }

    /// Mixed weights (one 0) and address families, small enough to read.
    func testGoldenWeightedTable() throws {
        let backends = try [
            (ipv4Identity(10, 0, 0, 1), 1), (ipv4Identity(10, 0, 0, 2), 2), (ipv4Identity(10, 0, 0, 3), 3),
            (ipv4Identity(192, 168, 1, 10), 5), (ipv6Identity(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 8),
            (ipv6Identity(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2), 13), (ipv6Identity(0x2001, 0xdb8, 0, 0, 0, 0, 0, 3), 0),
            (ipv6Identity(0x2001, 0xdb8, 0, 1, 0, 0, 0, 0x10), 100), (ipv6Identity(0xfd00, 0, 0, 0, 0, 0, 0, 0xa), 21),
        ].map { try MaglevBackend(id: $0, weight: $1) }
        try assertMatchesFixture(MaglevTable(backends: backends, size: 1009), named: "maglev-v1-weighted-1009.txt")
    }

    /// Equal weights: the Maglev paper's algorithm unchanged.
    func testGoldenEqualTable() throws {
        let backends = (1...10).map { backend($0) }
        try assertMatchesFixture(MaglevTable(backends: backends, size: 1009), named: "maglev-v1-equal-1009.txt")
    }

    private func ipv6Identity(_ groups: UInt16...) -> [UInt8] {
        groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }

    /// Compares the rendering byte for byte. To record a deliberate format change, run
    /// with MAGLEV_RECORD_FIXTURES=1: the fixture is rewritten in the source tree and
    /// the test fails, so a recording run never passes.
    private func assertMatchesFixture(_ table: MaglevTable, named name: String) throws {
        let rendered = Data(render(table).utf8)
        if ProcessInfo.processInfo.environment["MAGLEV_RECORD_FIXTURES"] == "1" {
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            try rendered.write(to: source.appendingPathComponent("Fixtures/\(name)"))
            XCTFail("recorded Fixtures/\(name); rerun without MAGLEV_RECORD_FIXTURES")
            return
        }
        let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
        let fixture = try Data(contentsOf: url)
        guard rendered != fixture else { return }
        let (actual, expected) = (lines(rendered), lines(fixture))
        let common = min(actual.count, expected.count)
        let first = (0..<common).first { actual[$0] != expected[$0] } ?? common
        XCTFail("""
            table differs from Fixtures/\(name) at line \(first + 1):
              fixture: \(first < expected.count ? expected[first] : "<end of file>")
              table:   \(first < actual.count ? actual[first] : "<end of file>")
            """)
    }

    private func lines(_ data: Data) -> [Substring] {
        String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The fixture format: a header, one line per backend in canonical order
    /// (`backend <position> <identity hex> <weight> <slot count>`), then the slots'
    /// backend positions, 16 per line, each line starting with its first slot number.
    private func render(_ table: MaglevTable) -> String {
        let counts = table.slotCounts
        var lines = [
            "# lbd Maglev table, format v1 (Sources/Maglev/Maglev.docc/Format.md); written by DeterminismTests.",
            "# Any change here changes the tables of every node: a breaking change.",
            "size \(table.size)",
        ]
        for (position, backend) in table.backends.enumerated() {
            lines.append("backend \(position) \(hex(backend.id)) \(backend.weight) \(counts[backend.id]!)")
        }
        for first in stride(from: 0, to: table.slots.count, by: 16) {
            let row = table.slots[first..<min(first + 16, table.slots.count)].map(String.init)
            lines.append("slots \(first) " + row.joined(separator: " "))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0 >> 4, radix: 16) + String($0 & 0xf, radix: 16) }.joined()
    }
}
