@testable import HealthCheck
import NIOCore
import NIOEmbedded
import NIOHTTP1
import XCTest

/// The status-line reader of http checks without `body_contains`, and the decoder path
/// of those with it, on an EmbeddedChannel: exact bytes in, exact verdict out.
final class StatusHandlerTests: XCTestCase {
    /// One check's channel with its handlers, the request it wrote, and its verdict.
    private final class Harness: @unchecked Sendable {
        let channel = EmbeddedChannel()
        let verdict: ProbeVerdict
        private(set) var outcome: Result<ProbeSuccess, ProbeFailure>?

        init(expect: StatusRanges = .default, bodyContains: String? = nil) throws {
            let loop = channel.embeddedEventLoop
            verdict = ProbeVerdict(promise: loop.makePromise(), phase: .makeBoxSendingValue(.connecting, eventLoop: loop))
            verdict.promise.futureResult.whenComplete { [unowned self] result in
                outcome = result.mapError { $0 as? ProbeFailure ?? .error("\($0)") }
            }
            let target = try HealthTarget(address: "192.0.2.1", servicePort: 8080, definition: .init(type: .http))
            let check = try HTTPCheck(path: "/healthz", expectStatus: expect, bodyContains: bodyContains)
            let request = HTTPProber.request(check, target: target)
            let pipeline = channel.pipeline.syncOperations
            if bodyContains == nil {
                try pipeline.addHandler(HTTPStatusHandler(
                    request: HTTPProber.encode(request), expectStatus: expect, usesTLS: false, verdict: verdict))
            } else {
                try pipeline.addHTTPClientHandlers()
                try pipeline.addHandler(HTTPProbeHandler(request: request, check: check, usesTLS: false, verdict: verdict))
            }
            try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 8080)).wait()
        }

        /// Everything the handlers wrote, as text.
        func written() throws -> String {
            var text = ""
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
                text += String(buffer: buffer)
            }
            return text
        }

        /// Feeds `chunks` one read each, stopping at the first that finds the channel closed.
        func receive(_ chunks: String...) throws {
            for chunk in chunks {
                guard channel.isActive else { return }
                try channel.writeInbound(ByteBuffer(string: chunk))
            }
        }
    }

    private func verdict(of response: String, expect: StatusRanges = .default) throws -> Result<ProbeSuccess, ProbeFailure>? {
        let harness = try Harness(expect: expect)
        try harness.receive(response)
        return harness.outcome
    }

    func testWritesTheRequestOnceConnected() throws {
        let harness = try Harness()
        XCTAssertEqual(try harness.written(), "GET /healthz HTTP/1.1\r\nHost: 192.0.2.1:8080\r\nConnection: close\r\n"
            + "User-Agent: lbd-healthcheck\r\nAccept: */*\r\n\r\n")
        XCTAssertEqual(harness.verdict.phase.value, .awaitingResponse)
        XCTAssertNil(harness.outcome)
    }

    /// The pre-encoded request is byte for byte what NIO's encoder writes.
    func testRequestBytesMatchTheHTTPEncoder() throws {
        let target = try HealthTarget(address: "2001:db8::1", servicePort: 443, definition: .init(type: .http))
        let check = try HTTPCheck(method: .head, path: "/status?full=1", host: "www.example",
                                  headers: ["X-B": "2", "Authorization": "Bearer x", "User-Agent": "probe"])
        let head = HTTPProber.request(check, target: target)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTPRequestEncoder())
        try channel.writeOutbound(HTTPClientRequestPart.head(head))
        try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        var encoded = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { encoded += String(buffer: buffer) }
        XCTAssertEqual(String(buffer: HTTPProber.encode(head)), encoded)
    }

    func testExactStatuses() throws {
        XCTAssertEqual(try verdict(of: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), .success(.status(200)))
        XCTAssertEqual(try verdict(of: "HTTP/1.0 503 Service Unavailable\r\n"), .failure(.status(503)))
        XCTAssertEqual(try verdict(of: "HTTP/1.1 204\r\n"), .success(.status(204)), "no reason phrase")
        XCTAssertEqual(try verdict(of: "HTTP/1.1 399 \r\n"), .success(.status(399)), "empty reason phrase")
        XCTAssertEqual(try verdict(of: "HTTP/1.1 400 Bad Request\r\n"), .failure(.status(400)))
        XCTAssertEqual(try verdict(of: "HTTP/1.1 302 Found\nLocation: /x\n\n"), .success(.status(302)), "bare LF")
        let strict = try StatusRanges(parsing: "200,204")
        XCTAssertEqual(try verdict(of: "HTTP/1.1 201 Created\r\n", expect: strict), .failure(.status(201)))
        XCTAssertEqual(try verdict(of: "HTTP/1.1 204 No Content\r\n", expect: strict), .success(.status(204)))
    }

    /// The verdict waits for the end of the status line, wherever the reads split it,
    /// and the connection is closed as soon as it is known.
    func testStatusLineSplitAcrossReads() throws {
        let chunks = ["H", "TTP/1.1 ", "2", "00 O", "K\r", "\nContent-Length: 0\r\n\r\n"]
        let harness = try Harness()
        for chunk in chunks.dropLast() {
            try harness.receive(chunk)
            XCTAssertNil(harness.outcome, "decided after \(chunk.debugDescription)")
            XCTAssertTrue(harness.channel.isActive)
        }
        try harness.receive(chunks.last!)
        XCTAssertEqual(harness.outcome, .success(.status(200)))
        XCTAssertFalse(harness.channel.isActive, "the connection must close once the status is known")

        // Every split point of one response gives the same verdict.
        let response = "HTTP/1.1 503 Busy\r\nRetry-After: 1\r\n\r\n"
        for split in 1..<response.utf8.count {
            let bytes = Array(response.utf8)
            let harness = try Harness()
            try harness.receive(String(decoding: bytes[..<split], as: UTF8.self),
                                String(decoding: bytes[split...], as: UTF8.self))
            XCTAssertEqual(harness.outcome, .failure(.status(503)), "split at \(split)")
        }
    }

    func testMalformedStatusLines() throws {
        let malformed = [
            "HTTP/1.1 20 OK\r\n", "HTTP/1.1 2000 OK\r\n", "HTTP/1.1 200OK\r\n", "HTTP/2 200\r\n", "HTTP/1.1  200 OK\r\n",
            "http/1.1 200 OK\r\n", "ICY 200 OK\r\n", "HTTP/1.x 200 OK\r\n", "HTTP/1.1 0200 OK\r\n", "HTTP/1.1 abc\r\n",
            "\r\n", "SSH-2.0-OpenSSH_9.6\r\n",
        ]
        for line in malformed {
            let outcome = try verdict(of: line)
            XCTAssertEqual(outcome?.failure?.kind, .invalidResponse, line.debugDescription)
        }
        XCTAssertEqual(try verdict(of: "HTTP/1.1 20 OK\r\n")?.failure?.description,
                       #"invalid HTTP response: malformed status line "HTTP/1.1 20 OK""#)
        XCTAssertEqual(try verdict(of: "\u{1}\u{2}junk \"quoted\"\r\n")?.failure?.description,
                       #"invalid HTTP response: malformed status line "..junk .quoted.""#)
    }

    /// A line that never ends is refused at the limit rather than buffered without bound.
    func testEndlessStatusLineIsRefusedAtTheLimit() throws {
        let harness = try Harness()
        let chunk = "HTTP/1.1 200 " + String(repeating: "x", count: 1000)
        for _ in 0..<20 where harness.outcome == nil {
            try harness.receive(chunk)
        }
        XCTAssertEqual(harness.outcome, .failure(.invalidResponse("status line longer than 8192 bytes")))
        XCTAssertFalse(harness.channel.isActive)
    }

    /// Interim responses (100 Continue, 103 Early Hints) are skipped with their headers;
    /// 101 is final (and not accepted by default).
    func testInterimResponsesAreSkipped() throws {
        XCTAssertEqual(try verdict(of: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), .success(.status(200)))
        let harness = try Harness()
        try harness.receive("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n", "\r\nHTTP/1.1 5",
                            "03 Unavailable\r\n")
        XCTAssertEqual(harness.outcome, .failure(.status(503)))
        XCTAssertEqual(try verdict(of: "HTTP/1.1 101 Switching Protocols\r\n\r\n"), .failure(.status(101)))
    }

    func testClosedBeforeTheStatusLine() throws {
        let harness = try Harness()
        try harness.receive("HTTP/1.1 20")
        try harness.channel.close().wait()
        XCTAssertEqual(harness.outcome, .failure(.connectionClosed(during: .awaitingResponse)))
    }

    /// With `body_contains` the decoder path reads the body, across reads, to the string.
    func testBodyContainsStillReadsTheBody() throws {
        let found = try Harness(bodyContains: "ready")
        XCTAssertTrue(try found.written().hasPrefix("GET /healthz HTTP/1.1\r\n"))
        try found.receive("HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nstate: re", "ady\r\n")
        XCTAssertEqual(found.outcome, .success(.status(200)))

        let missing = try Harness(bodyContains: "ready")
        try missing.receive("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ndraining")
        XCTAssertEqual(missing.outcome, .failure(.bodyMismatch(expected: "ready", scannedBytes: 8)))

        let rejected = try Harness(bodyContains: "ready")
        try rejected.receive("HTTP/1.1 500 Oops\r\nContent-Length: 5\r\n\r\nready")
        XCTAssertEqual(rejected.outcome, .failure(.status(500)))
    }
}

extension Result where Failure == ProbeFailure {
    fileprivate var failure: ProbeFailure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
