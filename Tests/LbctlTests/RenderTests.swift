@testable import LbctlCore
import XCTest

/// The pure pieces of the human output and of `--json`.
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

    func testJSONKeepsScalarsAndSortsKeysByTheirValue() throws {
        let json = #"""
            {"z":[1,-0.5,2E+10,1e-7,true,false,null],"a\u0063":"x\"y\\/\u00e9","aa":{},"ab":[],"b":{"d":[{}],"c":"é"}}
            """#
        XCTAssertEqual(try JSONPrettyPrinter.format(Array(json.utf8)), #"""
            {
              "aa": {},
              "ab": [],
              "a\u0063": "x\"y\\/\u00e9",
              "b": {
                "c": "é",
                "d": [
                  {}
                ]
              },
              "z": [
                1,
                -0.5,
                2E+10,
                1e-7,
                true,
                false,
                null
              ]
            }
            """#)
        XCTAssertEqual(try JSONPrettyPrinter.format(Array(" 42 ".utf8)), "42")
    }

    func testMalformedJSONIsADaemonFailure() {
        let cases: [(String, String)] = [
            (#"{"a":1,}"#, "expected a key at byte 7"),
            (#"{"a" 1}"#, "expected ':' at byte 5"),
            (#"[1 2]"#, "expected ',' or ']' at byte 3"),
            (#"{"a":"b"#, "unterminated string at byte 7"),
            (#"{"a":01}"#, "expected ',' or '}' at byte 6"),
            (#"[1.]"#, "expected digits after '.' at byte 3"),
            (#"[tru]"#, "expected a value at byte 1"),
            (#"{} {}"#, "unexpected text after the value at byte 3"),
            ("\"a\nb\"", "control character in a string at byte 2"),
            (#"["\x"]"#, "bad escape at byte 3"),
            (String(repeating: "[", count: 300), "nested too deeply at byte 256"),
            ("", "unexpected end at byte 0"),
        ]
        for (json, reason) in cases {
            XCTAssertThrowsError(try JSONPrettyPrinter.format(Array(json.utf8)), json) { error in
                XCTAssertEqual(error as? Failure, .daemon("lbd sent malformed JSON: \(reason)"), json)
            }
        }
    }
}
