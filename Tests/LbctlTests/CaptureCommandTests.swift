@testable import LbctlCore
import Foundation
import XCTest

/// `lbctl capture`: the request sent, the file written as lbd sent it, refused arguments.
final class CaptureCommandTests: LbctlTestCase {
    /// A pcap-shaped body of plain bytes: a 24-byte header, one 4-byte record.
    private let body = String(repeating: "h", count: 24) + String(repeating: "t", count: 8) + "\u{4}\0\0\0\u{4}\0\0\0ABCD"

    func testTheCaptureIsWrittenToTheFileAsLbdSentIt() throws {
        let file = daemon.directory + "/out.pcap"
        daemon.answer("POST", "/v1/capture?count=5&seconds=3&sample=2&snaplen=128&verdict=tx,miss&vip=10.0.0.10%3A80%2Ftcp",
                      .text(200, contentType: "application/vnd.tcpdump.pcap", body))
        XCTAssertEqual(lbctl("capture", "10.0.0.10:80/tcp", "--count", "5", "--seconds", "3", "--sample", "2",
                             "--snaplen", "128", "--verdict", "tx", "--verdict", "miss", "-w", file),
                       success("1 frame written to \(file)\n"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: file)), Data(body.utf8))
    }

    func testBadArgumentsSendNothing() {
        let file = daemon.directory + "/out.pcap"
        XCTAssertEqual(lbctl("capture", "--verdict", "lost", "-w", file),
                       failure(2, "lbctl: unknown verdict 'lost': expected tx, pass, drop, miss or icmp\n"))
        XCTAssertEqual(lbctl("capture", "--count", "0", "-w", file), failure(2, "lbctl: --count must be from 1 to 10000, not 0\n"))
        XCTAssertEqual(lbctl("capture", "--seconds", "61", "-w", file), failure(2, "lbctl: --seconds must be from 1 to 60, not 61\n"))
        XCTAssertEqual(lbctl("capture", "-w", "/nonexistent/out.pcap"),
                       failure(2, "lbctl: cannot write /nonexistent/out.pcap: /nonexistent is not a writable directory\n"))
        XCTAssertEqual(daemon.requests, [])
    }

    func testLbdsRefusalIsExitCodeOneAndNoFile() {
        let file = daemon.directory + "/out.pcap"
        daemon.answer("POST", "/v1/capture?count=100&seconds=10&sample=1&snaplen=256",
                      .json(409, #"{"error":"a capture is already running; one at a time"}"#))
        XCTAssertEqual(lbctl("capture", "-w", file), failure(1, "lbctl: a capture is already running; one at a time\n"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: file))
    }
}
