@testable import Balancer
import Foundation
import TestSupport
import XCTest

/// The services file (`lbctl apply -f` / `lbctl export`) and the JSON state file format.
final class StateFormatTests: XCTestCase {
    func testExportIsExactAndReadsBack() throws {
        var services = try sampleState().sortedServices
        services[1].backends[1].drained = true
        services.append(ServiceSpec(vip: vip("10.0.0.12:0/udp"), onBackendDown: .keep))
        let state = try DesiredState(validating: services, limits: testLimits)
        let yaml = state.yaml()
        XCTAssertEqual(yaml, """
            # lbd services: lbctl apply -f FILE
            services:
              - vip: 10.0.0.10:53/udp
                hash: source
                udp_idle_timeout: 10s
                on_backend_down: move
                backends:
                  - address: 192.0.2.11
                    weight: 50
                    drained: false
              - vip: 10.0.0.10:80/tcp
                hash: 5tuple
                on_backend_down: move
                backends:
                  - address: 192.0.2.11
                    weight: 100
                    drained: false
                  - address: 192.0.2.12
                    weight: 100
                    drained: true
              - vip: 10.0.0.12:0/udp
                hash: 5tuple
                on_backend_down: keep
                backends: []
              - vip: "[2001:db8::10]:443/tcp"
                hash: 5tuple
                on_backend_down: move
                backends:
                  - address: "2001:db8::11"
                    weight: 100
                    drained: false

            """)
        XCTAssertEqual(try DesiredState(yaml: yaml, limits: testLimits), state)
        XCTAssertEqual(try DesiredState(yaml: DesiredState().yaml(), limits: testLimits), DesiredState())
    }

    /// Every service that can be written reads back identically, whatever the addresses.
    func testRoundTripOfUnusualValues() throws {
        let state = try DesiredState(validating: [
            ServiceSpec(vip: vip("[::2]:0/tcp"), backends: [backend("::3"), backend("fe80::1", weight: 0)]),
            ServiceSpec(vip: vip("[2001:db8::]:65535/udp"), udpIdleTimeout: .seconds(86_400),
                        backends: [backend("2001:db8:0:0:1::"), backend("64:ff9b::1", weight: 65535, drained: true)]),
            ServiceSpec(vip: vip("198.51.100.1:1/udp"), hash: .source, onBackendDown: .keep, backends: [backend("2001:db8::7")]),
        ], limits: testLimits)
        XCTAssertEqual(try DesiredState(yaml: state.yaml(), limits: testLimits), state)
        XCTAssertEqual(try DesiredState(json: state.jsonData(), limits: testLimits), state)
    }

    /// Health checks (a service's, with every http field, and a backend's own) read back
    /// identically from an export and from the state file.
    func testHealthChecksRoundTrip() throws {
        let yaml = """
            services:
              - vip: 10.0.0.10:443/tcp
                health_check:
                  type: https
                  port: 8443
                  interval: 500ms
                  timeout: 200ms
                  rise: 3
                  fall: 2
                  jitter: 0.2
                  start_state: up
                  method: HEAD
                  path: /healthz?full=1
                  host: www.example.com
                  headers: { X-Check: lbd }
                  expect_status: [200, "300-302"]
                  verify_tls: true
                  sni: www.example.com
                  min_up: 2
                backends:
                  - address: 192.0.2.11
                  - { address: 192.0.2.12, health_check: { type: tcp, port: 22 } }
                  - { address: 192.0.2.13, health_check: { type: none } }
            """
        let state = try DesiredState(yaml: yaml, limits: testLimits)
        let service = try XCTUnwrap(state.services[vip("10.0.0.10:443/tcp")])
        XCTAssertEqual(service.healthCheck?.minUp, 2)
        XCTAssertEqual(service.healthCheck?.check.http?.path, "/healthz?full=1")
        XCTAssertEqual(service.check(for: service.backends[0])?.type, .https)
        XCTAssertEqual(service.check(for: service.backends[1])?.port, 22)
        XCTAssertNil(service.check(for: service.backends[2]), "type none: not checked")
        XCTAssertEqual(try DesiredState(yaml: state.yaml(), limits: testLimits), state)
        XCTAssertEqual(try DesiredState(json: state.jsonData(), limits: testLimits), state)
    }

    func testServicesFileErrors() {
        let cases: [(String, [String])] = [
            ("", ["1:1: the file is empty; write 'services: []' to remove every VIP"]),
            ("# nothing\n", ["1:1: the file is empty; write 'services: []' to remove every VIP"]),
            ("interface: eth0\nservices: []\n", ["1:1: unknown key 'interface' in services file (expected one of: services)"]),
            ("other: 1\n", ["1:1: unknown key 'other' in services file (expected one of: services)",
                            "1:1: 'services' is required (write 'services: []' to remove every VIP)"]),
            ("services:\n  - vip: 10.0.0.1:80/tcp\n    backends: [ { address: \"2001:db8::1\" } ]\n",
             ["3:28: VIP 10.0.0.1:80/tcp: backend 2001:db8::1 is IPv6 but encap_source_v6 is not configured"]),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try DesiredState(yaml: text, limits: Limits(ringSize: 1009, backendFamilies: [.v4])), text) {
                XCTAssertEqual(($0 as? ConfigErrors)?.errors.map(\.description), expected, text)
            }
        }
    }

    func testJSONFormat() throws {
        let state = try DesiredState(validating: [
            ServiceSpec(vip: vip("10.0.0.10:53/udp"), hash: .source, udpIdleTimeout: .seconds(10),
                        backends: [backend("192.0.2.11", weight: 50, drained: true)]),
            ServiceSpec(vip: vip("10.0.0.10:80/tcp")),
        ], limits: testLimits)
        XCTAssertEqual(String(decoding: state.jsonData(), as: UTF8.self), """
            {
              "services" : [
                {
                  "backends" : [
                    {
                      "address" : "192.0.2.11",
                      "drained" : true,
                      "weight" : 50
                    }
                  ],
                  "hash" : "source",
                  "udp_idle_timeout" : "10s",
                  "vip" : "10.0.0.10:53/udp"
                },
                {
                  "backends" : [

                  ],
                  "hash" : "5tuple",
                  "vip" : "10.0.0.10:80/tcp"
                }
              ],
              "version" : 1
            }
            """)
        // Optional keys may be left out by hand-written JSON.
        let minimal = #"{"version": 1, "services": [{"vip": "10.0.0.1:80/tcp", "backends": [{"address": "192.0.2.1"}]}]}"#
        XCTAssertEqual(try DesiredState(json: Data(minimal.utf8), limits: testLimits).sortedServices,
                       [ServiceSpec(vip: vip("10.0.0.1:80/tcp"), backends: [backend("192.0.2.1")])])
    }

    /// The state file, assembled from per-service fragments reused across saves, has
    /// exactly the bytes `JSONEncoder` gives for the whole state, through a stream of
    /// edits (and the empty state).
    func testReusedFragmentsGiveTheEncodersBytes() throws {
        struct Whole: Encodable {
            let services: [ServiceSpec]
            let version: Int
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let limits = Limits(maxVIPs: 8, maxBackends: 64, ringSize: 1009, connectionTable: 1000)
        var random = SplitMix64(seed: 5)
        let cache = EncodedServices()
        var state = DesiredState()
        for step in 0..<300 {
            let expected = try encoder.encode(Whole(services: state.sortedServices, version: DesiredState.formatVersion))
            XCTAssertEqual(String(decoding: state.jsonData(reusing: cache), as: UTF8.self),
                           String(decoding: expected, as: UTF8.self), "step \(step)")
            let target = vip("10.0.0.\(Int.random(in: 1...6, using: &random)):80/tcp")
            let address = ip("192.0.2.\(Int.random(in: 1...12, using: &random))")
            let edits: [Edit] = [
                .addVIP(ServiceSpec(vip: target, hash: Bool.random(using: &random) ? .source : .fiveTuple)),
                .removeVIP(target),
                .addBackend(target, backend("\(address)", weight: Int.random(in: 0...500, using: &random))),
                .removeBackend(target, address),
                .drain(address, vip: nil),
                .setWeight(target, address, weight: Int.random(in: 1...500, using: &random)),
            ]
            state = (try? state.applying(edits[Int.random(in: 0..<edits.count, using: &random)], limits: limits)) ?? state
        }
    }

    func testBadJSONSaysWhereAndWhy() {
        let cases: [(String, String)] = [
            (#"{"version": 2, "services": []}"#, "state format version 2 is not supported (this lbd reads version 1)"),
            (#"{"services": []}"#, "malformed state: missing key 'version'"),
            (#"{"version": 1, "services": [{"vip": "10.0.0.1:80"}]}"#,
             "malformed state: services[0].vip: bad VIP '10.0.0.1:80': no protocol; expected address:port/proto, "
                + "e.g. 10.0.0.10:80/tcp or [2001:db8::10]:443/tcp"),
            (#"{"version": 1, "services": [{"vip": "10.0.0.1:80/tcp", "backends": [{"address": "x"}]}]}"#,
             "malformed state: services[0].backends[0].address: 'x' is not an IP address"),
            (#"{"version": 1, "services": [{"vip": "10.0.0.1:80/tcp", "backends": [{"address": "192.0.2.1", "weight": "9"}]}]}"#,
             "malformed state: services[0].backends[0].weight: expected Int"),
            (#"{"version": 1, "services": [{"vip": "10.0.0.1:53/udp", "udp_idle_timeout": "10"}]}"#,
             "malformed state: services[0].udp_idle_timeout: bad duration '10': expected a whole number and a unit "
                + "(ms, s, m, h), e.g. 30s"),
            (#"{"version": 1, "services": [{"vip": "10.0.0.1:80/tcp"}, {"vip": "10.0.0.1:80/tcp"}]}"#,
             "state does not validate: VIP 10.0.0.1:80/tcp is defined more than once"),
        ]
        for (json, message) in cases {
            XCTAssertThrowsError(try DesiredState(json: Data(json.utf8), limits: testLimits), json) {
                XCTAssertEqual("\($0)", message, json)
            }
        }
        XCTAssertThrowsError(try DesiredState(json: Data(#"{"version": 1, "serv"#.utf8), limits: testLimits)) {
            XCTAssertTrue("\($0)".hasPrefix("malformed state: "), "\($0)")
        }
    }
}
