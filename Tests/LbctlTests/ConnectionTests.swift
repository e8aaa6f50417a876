@testable import LbctlCore
import Glibc
import XCTest

/// Reaching lbd: the socket's path, an absent or silent daemon, and the response
/// framings HTTP/1.1 allows.
final class ConnectionTests: LbctlTestCase {
    func testSocketPathPrecedence() throws {
        let option = try ConnectionOptions.parse(["--socket", "/flag.sock"])
        let none = try ConnectionOptions.parse([])
        XCTAssertEqual(option.socketPath(environment: ["LBD_SOCKET": "/env.sock"]), "/flag.sock")
        XCTAssertEqual(none.socketPath(environment: ["LBD_SOCKET": "/env.sock"]), "/env.sock")
        XCTAssertEqual(none.socketPath(environment: ["LBD_SOCKET": ""]), "/run/lbd/lbd.sock")
        XCTAssertEqual(none.socketPath(environment: [:]), "/run/lbd/lbd.sock")
    }

    func testSocketOptionBeforeOrAfterTheCommand() {
        daemon.answer("GET", "/v1/export", .text(200, contentType: "text/yaml", "services: []\n"))
        let elsewhere = ["LBD_SOCKET": daemon.directory + "/elsewhere.sock"]
        XCTAssertEqual(Lbctl.run(["--socket", daemon.path, "export"], environment: elsewhere), success("services: []\n"))
        XCTAssertEqual(Lbctl.run(["export", "--socket", daemon.path], environment: elsewhere), success("services: []\n"))
        XCTAssertEqual(daemon.requests.count, 2)
    }

    func testNoSocketExitsThree() {
        let path = daemon.directory + "/missing.sock"
        XCTAssertEqual(Lbctl.run(["status"], environment: ["LBD_SOCKET": path]),
                       failure(3, "lbctl: cannot connect to \(path): No such file or directory (is lbd running?)\n"))
    }

    func testASocketNobodyListensOnExitsThree() throws {
        // Bound, then closed: the file stays, connections are refused.
        let path = daemon.directory + "/stale.sock"
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        close(listener)
        XCTAssertEqual(Lbctl.run(["vip", "list"], environment: ["LBD_SOCKET": path]),
                       failure(3, "lbctl: cannot connect to \(path): Connection refused (is lbd running?)\n"))
    }

    func testASilentDaemonTimesOut() {
        daemon.answer("GET", "/v1/status", .silence)
        let start = ContinuousClock.now
        XCTAssertEqual(lbctl("status", timeout: .milliseconds(300)),
                       failure(3, "lbctl: lbd on \(daemon.path) did not answer within 300ms\n"))
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(3))
    }

    func testAResponseCutShortExitsThree() {
        daemon.answer("GET", "/v1/export", .raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nservices: []"))
        XCTAssertEqual(lbctl("export"), failure(3, """
            lbctl: lbd on \(daemon.path) closed the connection before the response was complete

            """))
    }

    func testAResponseThatIsNotHTTPExitsOne() {
        daemon.answer("GET", "/v1/export", .raw("SSH-2.0-OpenSSH_9.2\r\n\r\n"))
        XCTAssertEqual(lbctl("export"),
                       failure(1, "lbctl: lbd sent a malformed HTTP response: bad status line 'SSH-2.0-OpenSSH_9.2'\n"))
    }

    func testChunkedAndCloseDelimitedBodies() {
        daemon.answer("GET", "/v1/export", .raw(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9;ext=1\r\nservices:\r\n4\r\n []\n\r\n0\r\n\r\n"))
        XCTAssertEqual(lbctl("export"), success("services: []\n"))
        daemon.answer("GET", "/v1/export", .raw("HTTP/1.1 200 OK\r\nContent-Type: text/yaml\r\n\r\nservices: []\n"))
        XCTAssertEqual(lbctl("export"), success("services: []\n"))
    }
}
