@testable import LBDAPI
import XCTest

/// The request lbctl writes and the response framings it reads (RFC 9112).
final class HTTPTests: XCTestCase {
    private typealias Header = HTTPResponse.Header

    func testRequestBytes() {
        XCTAssertEqual(String(decoding: HTTPRequest.get("/v1/status").serialized(keepAlive: false), as: UTF8.self),
                       "GET /v1/status HTTP/1.1\r\nHost: localhost\r\nUser-Agent: lbctl\r\nAccept: application/json\r\n"
                           + "Connection: close\r\n\r\n")
        let post = HTTPRequest.post("/v1/apply?dry_run=1", contentType: "application/yaml", body: Array("services: []\n".utf8))
        XCTAssertEqual(String(decoding: post.serialized(keepAlive: false), as: UTF8.self),
                       "POST /v1/apply?dry_run=1 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: lbctl\r\n"
                           + "Accept: application/json\r\nConnection: close\r\nContent-Type: application/yaml\r\n"
                           + "Content-Length: 13\r\n\r\nservices: []\n")
        XCTAssertEqual(String(decoding: HTTPRequest.get("/v1/status").serialized(keepAlive: true), as: UTF8.self),
                       "GET /v1/status HTTP/1.1\r\nHost: localhost\r\nUser-Agent: lbctl\r\nAccept: application/json\r\n\r\n")
    }

    private func parse(_ text: String, atEOF: Bool = false) throws -> HTTPResponse? {
        try HTTPResponseParser.parse(Array(text.utf8), atEOF: atEOF)
    }

    func testContentLength() throws {
        let head = "HTTP/1.1 409 Conflict\r\ncontent-length: 5\r\nContent-Type:application/json\r\n\r\n"
        XCTAssertNil(try parse(head + "{\"a\""))
        let response = try XCTUnwrap(try parse(head + "{\"a\"}extra"))
        XCTAssertEqual(response, HTTPResponse(status: 409, headers: [Header(name: "content-length", value: "5"),
                                                                     Header(name: "Content-Type", value: "application/json")],
                                              body: Array("{\"a\"}".utf8)))
        XCTAssertEqual(response.header("CONTENT-TYPE"), "application/json")
        XCTAssertFalse(response.isSuccess)
    }

    func testChunked() throws {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        XCTAssertNil(try parse(head + "3\r\nabc\r\n"))
        XCTAssertNil(try parse(head + "3\r\nabc\r\n0\r\nTrailer: x\r\n"))
        XCTAssertEqual(try parse(head + "3\r\nabc\r\nA;x=y\r\n0123456789\r\n0\r\n\r\n")?.body, Array("abc0123456789".utf8))
        XCTAssertEqual(try parse(head + "1\r\nz\r\n0\r\nTrailer: x\r\n\r\n")?.body, Array("z".utf8))
        XCTAssertThrowsError(try parse(head + "xyz\r\n")) {
            XCTAssertEqual($0 as? HTTPParseError, HTTPParseError(reason: "bad chunk size 'xyz'"))
        }
        XCTAssertThrowsError(try parse(head + "1\r\nzz\r\n")) {
            XCTAssertEqual($0 as? HTTPParseError, HTTPParseError(reason: "chunk of 1 bytes not followed by CRLF"))
        }
    }

    func testBodyUntilClose() throws {
        let text = "HTTP/1.0 200 OK\r\n\r\nservices: []\n"
        XCTAssertNil(try parse(text))
        XCTAssertEqual(try parse(text, atEOF: true)?.body, Array("services: []\n".utf8))
    }

    func testStatusesWithoutBody() throws {
        XCTAssertEqual(try parse("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"), HTTPResponse(
            status: 204, headers: [Header(name: "Content-Length", value: "10")], body: []))
    }

    func testMalformedResponses() {
        let cases: [(String, String)] = [
            ("HTTP/2 200\r\n\r\n", "bad status line 'HTTP/2 200'"),
            ("HTTP/1.1 20x OK\r\n\r\n", "bad status line 'HTTP/1.1 20x OK'"),
            ("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "bad header line 'no colon'"),
            ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length '-1'"),
        ]
        for (text, reason) in cases {
            XCTAssertThrowsError(try parse(text), text) {
                XCTAssertEqual($0 as? HTTPParseError, HTTPParseError(reason: reason), text)
            }
        }
    }
}
