@testable import LbctlCore
import XCTest

/// The pure pieces of the human output.
final class RenderTests: XCTestCase {
    func testTableAlignsColumnsWithoutTrailingBlanks() {
        let table = TextTable(columns: [.init("NAME"), .init("COUNT", .right), .init("NOTE")],
                              rows: [["a", "1", ""], ["longer", "12345", "x"]])
        XCTAssertEqual(table.lines, [
            "NAME    COUNT  NOTE",
            "a           1",
            "longer  12345  x",
        ])
    }

    func testBytesInBinaryUnits() {
        let cases: [(UInt64, String)] = [
            (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"), (1_048_575, "1.0 MiB"),
            (1_048_576, "1.0 MiB"), (5_368_709_120, "5.0 GiB"), (1 << 40, "1.0 TiB"), (UInt64.max, "16.0 EiB"),
        ]
        for (count, text) in cases {
            XCTAssertEqual(Quantities.bytes(count), text, "\(count)")
        }
    }

    func testSharesAsPercentages() {
        XCTAssertEqual(Quantities.percent(0), "0.0%")
        XCTAssertEqual(Quantities.percent(1), "100.0%")
        XCTAssertEqual(Quantities.percent(1.0 / 3), "33.3%")
        XCTAssertEqual(Quantities.percent(0.66667), "66.7%")
        XCTAssertEqual(Quantities.percent(0.0004), "0.0%")
    }

    func testDatapathLine() {
        XCTAssertEqual(StatusView.datapathLine(.init(attached: "generic", interface: "ens5", adopted: false)),
                       "datapath: generic XDP on ens5")
        XCTAssertEqual(StatusView.datapathLine(.init(attached: nil, interface: "ens5", adopted: true)),
                       "datapath: not attached (interface ens5), adopted from pinned maps")
    }
}
