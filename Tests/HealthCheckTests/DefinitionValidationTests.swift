import Foundation
import HealthCheck
import XCTest

/// Every bad definition is refused with one exact line naming the field; good ones
/// decode to the defaults and round-trip.
final class DefinitionValidationTests: XCTestCase {
    /// (configuration block as JSON, exact message).
    private let rejected: [(String, String)] = [
        (#"{"type": "tcp", "interval": "0ms"}"#, "interval must be greater than zero (got 0s)"),
        (#"{"type": "tcp", "interval": "-1s"}"#, "interval must be greater than zero (got -1s)"),
        (#"{"type": "tcp", "interval": 2}"#, "interval: expected a duration such as 500ms, 2s or 1m"),
        (#"{"type": "tcp", "interval": "2x"}"#,
         "interval \"2x\": expected a whole number and a unit (ms, s, m, h), such as 500ms or 2s"),
        (#"{"type": "tcp", "timeout": "1.5s"}"#,
         "timeout \"1.5s\": expected a whole number and a unit (ms, s, m, h), such as 500ms or 2s"),
        (#"{"type": "tcp", "timeout": "0s"}"#, "timeout must be greater than zero (got 0s)"),
        (#"{"type": "tcp", "interval": "1s", "timeout": "1s"}"#, "timeout (1s) must be less than interval (1s)"),
        (#"{"type": "tcp", "interval": "500ms", "timeout": "2s"}"#, "timeout (2s) must be less than interval (500ms)"),
        (#"{"type": "icmp"}"#, "type \"icmp\" is not one of none, tcp, http, https"),
        (#"{"interval": "2s"}"#, "type is required: none, tcp, http or https"),
        (#"{"type": "http", "expect_status": "600"}"#, "expect_status \"600\": 600 is not an HTTP status code (100-599)"),
        (#"{"type": "http", "expect_status": "300-200"}"#,
         "expect_status \"300-200\": the range 300-200 starts after it ends"),
        (#"{"type": "http", "expect_status": "abc"}"#,
         "expect_status \"abc\": expected a status code or a range such as 200 or 200-399"),
        (#"{"type": "http", "expect_status": [200, "99"]}"#,
         "expect_status \"99\": 99 is not an HTTP status code (100-599)"),
        (#"{"type": "http", "expect_status": "200,"}"#,
         "expect_status \"200,\": expected a status code or a range such as 200 or 200-399"),
        (#"{"type": "tcp", "rise": 0}"#, "rise must be at least 1 (got 0)"),
        (#"{"type": "tcp", "fall": 0}"#, "fall must be at least 1 (got 0)"),
        (#"{"type": "tcp", "rise": "two"}"#, "rise: expected an integer"),
        (#"{"type": "http", "path": ""}"#, "path must not be empty"),
        (#"{"type": "http", "path": "health"}"#, "path \"health\" must start with \"/\""),
        (#"{"type": "http", "path": "/a b"}"#,
         "path \"/a b\" contains a space, control or non-ASCII character (percent-encode it)"),
        (#"{"type": "http", "method": "HEAD", "body_contains": "ok"}"#,
         "body_contains cannot be used with method HEAD: a HEAD response has no body"),
        (#"{"type": "http", "method": "POST"}"#, "method \"POST\" is not one of GET, HEAD"),
        (#"{"type": "http", "body_contains": ""}"#, "body_contains must not be empty"),
        (#"{"type": "tcp", "jitter": 0.9}"#, "jitter must be between 0 and 0.5 (got 0.9)"),
        (#"{"type": "tcp", "port": 0}"#, "port must be between 1 and 65535 (got 0)"),
        (#"{"type": "tcp", "port": 70000}"#, "port must be between 1 and 65535 (got 70000)"),
        (#"{"type": "tcp", "start_state": "maybe"}"#, "start_state \"maybe\" is not one of up, down"),
        (#"{"type": "tcp", "intervall": "2s"}"#, "unknown field \"intervall\""),
        (#"{"type": "tcp", "path": "/"}"#, "path applies only to http and https checks"),
        (#"{"type": "http", "verify_tls": true}"#, "verify_tls applies only to https checks"),
        (#"{"type": "http", "sni": "a.example"}"#, "sni applies only to https checks"),
        (#"{"type": "none", "interval": "2s"}"#, "interval does not apply to type none"),
        (#"{"type": "https", "sni": "10.0.0.1"}"#, "sni \"10.0.0.1\" is an IP address; TLS server names are host names"),
        (#"{"type": "http", "host": "a b"}"#, "host \"a b\" is not a valid host name"),
        (#"{"type": "http", "headers": {"Host": "x"}}"#, "header \"Host\" is set by the checker; use the host field"),
        (#"{"type": "http", "headers": {"X-A": "1\r\nX-B: 2"}}"#, "header \"X-A\": the value contains a line break"),
        (#"{"type": "http", "headers": {"Bad Name": "1"}}"#, "header \"Bad Name\" is not a valid header name"),
        (#"{"type": "http", "headers": ["X-A"]}"#, "headers: expected a map of header names to values"),
        (#"{"type": "tcp", "via": "vip"}"#, "via \"vip\" is not one of tunnel, direct"),
        (#"{"type": "tcp", "via": true}"#, "via: expected a string"),
        (#"{"type": "none", "via": "direct"}"#, "via does not apply to type none"),
    ]

    func testEachBadDefinitionIsRefusedWithItsMessage() {
        XCTAssertGreaterThanOrEqual(rejected.count, 10)
        for (json, message) in rejected {
            XCTAssertThrowsError(try decode(json), json) { error in
                guard let error = error as? HealthCheckConfigError else {
                    return XCTFail("\(json): not a HealthCheckConfigError: \(error)")
                }
                XCTAssertEqual(error.message, message, json)
                XCTAssertFalse(error.message.contains("\n"), json)
            }
        }
    }

    func testDefaults() throws {
        let tcp = try decode(#"{"type": "tcp"}"#)
        XCTAssertEqual(tcp, try HealthCheckDefinition(type: .tcp))
        XCTAssertEqual(tcp.interval, .seconds(2))
        XCTAssertEqual(tcp.timeout, .seconds(1))
        XCTAssertEqual([tcp.rise, tcp.fall], [2, 3])
        XCTAssertEqual(tcp.jitter, 0.1)
        XCTAssertEqual(tcp.startState, .down)
        XCTAssertNil(tcp.port)
        XCTAssertNil(tcp.http)
        XCTAssertEqual(tcp.via, .tunnel, "checks go through the tunnel unless told otherwise")

        let http = try XCTUnwrap(try decode(#"{"type": "http"}"#).http)
        XCTAssertEqual(http.method, .get)
        XCTAssertEqual(http.path, "/")
        XCTAssertEqual(http.expectStatus.description, "200-399")
        XCTAssertFalse(http.verifyTLS)
        XCTAssertEqual(try decode(#"{"type": "none"}"#), .none)
    }

    func testEveryFieldDecodesAndRoundTrips() throws {
        let json = #"""
            {"type": "https", "port": 8443, "interval": "1500ms", "timeout": "250ms", "rise": 4, "fall": 1,
             "jitter": 0, "start_state": "up", "method": "get", "path": "/healthz?full=1", "host": "www.example:8443",
             "headers": {"X-Check": "lbd"}, "expect_status": [200, "204-205", "300-302,304"],
             "body_contains": "ready", "verify_tls": true, "sni": "www.example", "via": "direct"}
            """#
        let definition = try decode(json)
        XCTAssertEqual(definition.type, .https)
        XCTAssertEqual(definition.port, 8443)
        XCTAssertEqual(definition.interval, .milliseconds(1500))
        XCTAssertEqual(definition.timeout, .milliseconds(250))
        XCTAssertEqual(definition.startState, .up)
        XCTAssertEqual(definition.via, .direct)
        let http = try XCTUnwrap(definition.http)
        XCTAssertEqual(http.method, .get)
        XCTAssertEqual(http.host, "www.example:8443")
        XCTAssertEqual(http.headers, ["X-Check": "lbd"])
        XCTAssertEqual(http.expectStatus.description, "200,204-205,300-302,304")
        XCTAssertEqual(http.bodyContains, "ready")
        XCTAssertTrue(http.verifyTLS)
        XCTAssertEqual(http.sni, "www.example")

        let encoded = try JSONEncoder().encode(definition)
        XCTAssertEqual(try JSONDecoder().decode(HealthCheckDefinition.self, from: encoded), definition)
        let keys = try XCTUnwrap(JSONSerialization.jsonObject(with: encoded) as? [String: Any]).keys.sorted()
        XCTAssertEqual(keys, ["body_contains", "expect_status", "fall", "headers", "host", "interval", "jitter", "method",
                              "path", "port", "rise", "sni", "start_state", "timeout", "type", "verify_tls", "via"])
    }

    /// Equal checks spelt differently are equal values, so they share one checker.
    func testEquivalentSpellingsAreEqual() throws {
        XCTAssertEqual(try decode(#"{"type": "http", "expect_status": "200-204,205"}"#),
                       try decode(#"{"type": "http", "expect_status": ["200-205"]}"#))
        XCTAssertEqual(try decode(#"{"type": "tcp", "interval": "1m"}"#),
                       try decode(#"{"type": "tcp", "interval": "60s"}"#))
        XCTAssertNotEqual(try decode(#"{"type": "tcp", "rise": 1}"#), try decode(#"{"type": "tcp"}"#))
    }

    func testServiceBlockCarriesMinUp() throws {
        let block = try JSONDecoder().decode(
            ServiceHealthCheck.self, from: Data(#"{"type": "tcp", "rise": 1, "min_up": 2}"#.utf8))
        XCTAssertEqual(block.minUp, 2)
        XCTAssertEqual(block.check, try HealthCheckDefinition(type: .tcp, rise: 1))
        XCTAssertEqual(try JSONDecoder().decode(ServiceHealthCheck.self, from: JSONEncoder().encode(block)), block)
        XCTAssertThrowsError(try JSONDecoder().decode(ServiceHealthCheck.self, from: Data(#"{"type": "tcp", "min_up": 0}"#.utf8))) {
            XCTAssertEqual(($0 as? HealthCheckConfigError)?.message, "min_up must be at least 1 (got 0)")
        }
        // A backend's override is a plain definition: the quorum is the service's.
        XCTAssertThrowsError(try decode(#"{"type": "tcp", "min_up": 2}"#)) {
            XCTAssertEqual(($0 as? HealthCheckConfigError)?.message, "unknown field \"min_up\"")
        }
    }

    func testProgrammaticDefinitionsAreValidatedToo() {
        XCTAssertThrowsError(try HealthCheckDefinition(type: .tcp, interval: .seconds(1), timeout: .seconds(3))) {
            XCTAssertEqual(($0 as? HealthCheckConfigError)?.message, "timeout (3s) must be less than interval (1s)")
        }
        XCTAssertThrowsError(try HealthCheckDefinition(type: .tcp, http: HTTPCheck())) {
            XCTAssertEqual(($0 as? HealthCheckConfigError)?.field, "path")
        }
        XCTAssertThrowsError(try HealthTarget(address: "backend.example", servicePort: 80, definition: .none)) {
            XCTAssertEqual(($0 as? HealthCheckConfigError)?.message,
                           "backend address \"backend.example\" is not an IPv4 or IPv6 address")
        }
    }

    /// The port is resolved into the target, so a service port and an explicit `port`
    /// that agree make equal targets; IPv6 spellings are canonical.
    func testTargetsResolvePortAndAddress() throws {
        let viaService = try HealthTarget(address: "10.0.0.1", servicePort: 8080, definition: .init(type: .tcp))
        let viaPort = try HealthTarget(address: "10.0.0.1", servicePort: 80, definition: .init(type: .tcp, port: 8080))
        XCTAssertEqual(viaService, viaPort)
        XCTAssertEqual(viaPort.port, 8080)
        let v6 = try HealthTarget(address: "2001:DB8:0::1", servicePort: 443, definition: .init(type: .tcp))
        XCTAssertEqual(v6, try HealthTarget(address: "2001:db8::1", servicePort: 443, definition: .init(type: .tcp)))
        XCTAssertEqual(v6.description, "[2001:db8::1]:443 tcp")
    }

    private func decode(_ json: String) throws -> HealthCheckDefinition {
        try JSONDecoder().decode(HealthCheckDefinition.self, from: Data(json.utf8))
    }
}
