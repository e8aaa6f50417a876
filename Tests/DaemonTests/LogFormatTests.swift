import Daemon
import Logging
import Synchronization
import XCTest

/// One line per event, key=value or JSON, safe to split back into fields.
final class LogFormatTests: XCTestCase {
    private func line(journal: Bool, format: LineLogHandler.Format = .keyvalue, _ log: (Logger) -> Void) -> String {
        let lines = Mutex<[String]>([])
        let logger = Logger(label: "lbd.test") { label in
            LineLogHandler(label: label, level: .debug, format: format, journal: journal) { line in
                lines.withLock { $0.append(line) }
            }
        }
        log(logger)
        return lines.withLock { $0.joined() }
    }

    func testUnderJournaldLinesCarryThePriority() {
        let text = line(journal: true) {
            $0.warning("VIP removed", metadata: ["vip": "10.0.0.10:80/tcp", "reason": "operator said \"go\"", "index": "3"])
        }
        XCTAssertEqual(text, #"<4>level=warning logger=lbd.test msg="VIP removed" index=3 reason="operator said \"go\"" vip=10.0.0.10:80/tcp"# + "\n")
    }

    func testElsewhereLinesStartWithATimestamp() {
        let text = line(journal: false) { $0.info("ready") }
        XCTAssertTrue(text.hasSuffix(" level=info logger=lbd.test msg=ready\n"), text)
        XCTAssertEqual(text.split(separator: " ").first?.count, 24, "RFC 3339 with milliseconds: \(text)")
    }

    func testMultiLineMessagesStayOnOneLine() {
        let text = line(journal: true) { $0.critical("did not start:\nline two") }
        XCTAssertEqual(text, #"<2>level=critical logger=lbd.test msg="did not start:\nline two""# + "\n")
    }

    func testJSONLinesAreOneObjectWithSortedKeys() throws {
        let text = line(journal: true, format: .json) {
            $0.warning("VIP removed", metadata: ["vip": "10.0.0.10:80/tcp", "reason": "operator said \"go\"\n"])
        }
        XCTAssertEqual(text, #"<4>{"level":"warning","logger":"lbd.test","msg":"VIP removed","reason":"operator said \"go\"\n","vip":"10.0.0.10:80/tcp"}"# + "\n")
        let plain = line(journal: false, format: .json) { $0.info("ready") }
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(plain.utf8)) as? [String: String])
        XCTAssertEqual(object["msg"], "ready")
        XCTAssertEqual(object["ts"]?.count, 24, "RFC 3339 with milliseconds")
    }
}
