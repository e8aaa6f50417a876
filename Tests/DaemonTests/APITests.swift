import Balancer
import Daemon
import Foundation
import LBDAPI
import TestDoubles
import XCTest

/// The control API as lbctl sees it: raw HTTP/1.1 over the unix socket, exact status
/// codes and JSON, and the state file on disk after each request.
final class APITests: XCTestCase {
    private static let services = """
        services:
          - vip: 10.0.0.10:80/tcp
            backends: [ { address: 192.0.2.11 }, { address: 192.0.2.12, weight: 50 }, { address: 192.0.2.13, drained: true } ]
          - vip: 10.0.0.10:53/udp
            hash: source
            udp_idle_timeout: 10s
            backends: []
        """

    private var harness: APIHarness!

    override func setUp() async throws {
        harness = try await APIHarness(self, services: Self.services)
    }

    override func tearDown() async throws {
        try await harness?.stop()
        harness = nil
    }

    /// The version of the state lbd has saved (the state file is `jsonData()`'s bytes).
    private var savedVersion: String {
        get throws { try DesiredState(json: try harness.stateFile, limits: APIHarness.limits).version() }
    }

    func testServicesAreTheStateFilesEncoding() async throws {
        let response = try await harness.client().send(.get("/v1/services"))
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("Content-Type"), "application/json")
        // Indented, keys sorted: what `lbctl vip list --json` prints as it is.
        XCTAssertEqual(response.text, """
            {
              "services" : [
                {
                  "backends" : [

                  ],
                  "hash" : "source",
                  "udp_idle_timeout" : "10s",
                  "vip" : "10.0.0.10:53/udp"
                },
                {
                  "backends" : [
                    {
                      "address" : "192.0.2.11",
                      "drained" : false,
                      "weight" : 100
                    },
                    {
                      "address" : "192.0.2.12",
                      "drained" : false,
                      "weight" : 50
                    },
                    {
                      "address" : "192.0.2.13",
                      "drained" : true,
                      "weight" : 100
                    }
                  ],
                  "hash" : "5tuple",
                  "vip" : "10.0.0.10:80/tcp"
                }
              ],
              "version" : "\(try savedVersion)"
            }

            """)
    }

    /// Every setting of a service the state file writes is in its element, here
    /// `on_backend_down: keep` (the default, move, is left out of both).
    func testServicesCarryEverySettingTheStateFileWrites() async throws {
        let client = harness.client()
        let file = "services:\n  - vip: 10.0.0.20:80/tcp\n    on_backend_down: keep\n    backends: [ { address: 192.0.2.21 } ]\n"
        let applied = try await client.send(.post("/v1/apply?prune=0", yaml: file))
        XCTAssertEqual(applied.status, 200, applied.text)
        let response = try await client.send(.get("/v1/services"))
        XCTAssertEqual(response.status, 200)
        let services = try XCTUnwrap(try json(response.body)["services"] as? [NSDictionary])
        let saved = try XCTUnwrap(try json(Array(try harness.stateFile))["services"] as? [NSDictionary])
        XCTAssertEqual(services, saved)
        XCTAssertEqual(services.map { $0["on_backend_down"] as? String }, [nil, nil, "keep"])
    }

    func testStatusShowsRingSharesStatesAndTheDatapath() async throws {
        let response = try await harness.client().send(.get("/v1/status"))
        XCTAssertEqual(response.status, 200)
        let status = try json(response.body)
        XCTAssertEqual(status["datapath"] as? NSDictionary, ["attached": NSNull(), "interface": "none", "adopted": false])
        let services = try XCTUnwrap(status["services"] as? [NSDictionary])
        XCTAssertEqual(services.map { $0["vip"] as? String }, ["10.0.0.10:53/udp", "10.0.0.10:80/tcp"])
        XCTAssertEqual(services.map { $0["state"] as? String }, ["no_backend", "ok"])
        XCTAssertEqual(services[0]["backends"] as? [NSDictionary], [])
        let backends = try XCTUnwrap(services[1]["backends"] as? [NSDictionary])
        XCTAssertEqual(backends.count, 3)
        XCTAssertEqual(Set(backends[0].allKeys as! [String]), ["address", "weight", "drained", "health", "ring_slots",
                                                                "ring_share", "packets", "bytes", "active_flows", "closing_flows"])
        let slots = backends.map { $0["ring_slots"] as! Int }
        XCTAssertEqual(slots.reduce(0, +), APIHarness.limits.ringSize, "every slot names an active backend")
        XCTAssertEqual(slots[2], 0, "drained: no new flows")
        XCTAssertEqual(Double(slots[0]) / Double(slots[1]), 2, accuracy: 0.1, "weights 100:50")
        XCTAssertEqual(backends[0]["ring_share"] as! Double, Double(slots[0]) / 1009, accuracy: 1e-9)
        XCTAssertEqual(backends.map { $0["health"] as? String }, ["unchecked", "unchecked", "unchecked"])
    }

    func testAnEditIsOnDiskAndInTheMapsWhenAnswered() async throws {
        let client = try harness.connection()
        let response = try await client.exchange(.post(
            "/v1/edit", json: #"{"op":"add_backend","vip":"10.0.0.10:53/udp","address":"192.0.2.21","weight":7}"#))
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.text, "{\n  \"changed\" : true,\n  \"ok\" : true,\n  \"version\" : \"\(try savedVersion)\"\n}\n")
        let saved = try DesiredState(json: try harness.stateFile, limits: APIHarness.limits)
        XCTAssertEqual(saved.services[try VIPKey("10.0.0.10:53/udp")]?.backends, [BackendSpec(address: try IPAddress("192.0.2.21"), weight: 7)])
        XCTAssertEqual(harness.datapath.route(try VIPKey("10.0.0.10:53/udp"), slot: 0), try IPAddress("192.0.2.21"))
        // The same connection serves the next request (keep-alive).
        let status = try json(try await client.exchange(.get("/v1/status")).body)
        XCTAssertEqual((status["services"] as? [NSDictionary])?[0]["state"] as? String, "ok")
    }

    func testEveryEditOperation() async throws {
        let client = harness.client()
        for body in [
            #"{"op":"add_vip","vip":"10.0.0.20:443/tcp","hash":"source"}"#,
            #"{"op":"add_backend","vip":"10.0.0.20:443/tcp","address":"192.0.2.31"}"#,
            #"{"op":"set_weight","vip":"10.0.0.20:443/tcp","address":"192.0.2.31","weight":5}"#,
            #"{"op":"drain","vip":"10.0.0.20:443/tcp","address":"192.0.2.31"}"#,
            #"{"op":"undrain","vip":"10.0.0.10:80/tcp","address":"192.0.2.13"}"#,
            #"{"op":"drain","address":"192.0.2.11"}"#,
            #"{"op":"remove_backend","vip":"10.0.0.10:80/tcp","address":"192.0.2.12"}"#,
            #"{"op":"remove_vip","vip":"10.0.0.10:53/udp"}"#,
            #"{"op":"add_vip","vip":"10.0.0.20:443/udp","quic":true,"quic_server_id_length":1}"#,
            #"{"op":"add_backend","vip":"10.0.0.20:443/udp","address":"192.0.2.31","quic_server_id":9}"#,
        ] {
            let response = try await client.send(.post("/v1/edit", json: body))
            XCTAssertEqual(response.status, 200, "\(body): \(response.text)")
        }
        let export = try await client.send(.get("/v1/export"))
        XCTAssertEqual(export.header("Content-Type"), "text/yaml")
        XCTAssertEqual(export.text, """
            # lbd services: lbctl apply -f FILE
            services:
              - vip: 10.0.0.10:80/tcp
                hash: 5tuple
                on_backend_down: move
                backends:
                  - address: 192.0.2.11
                    weight: 100
                    drained: true
                  - address: 192.0.2.13
                    weight: 100
                    drained: false
              - vip: 10.0.0.20:443/tcp
                hash: source
                on_backend_down: move
                backends:
                  - address: 192.0.2.31
                    weight: 5
                    drained: true
              - vip: 10.0.0.20:443/udp
                hash: 5tuple
                on_backend_down: move
                quic: true
                quic_server_id_length: 1
                quic_connection_id_length: 8
                backends:
                  - address: 192.0.2.31
                    weight: 100
                    drained: false
                    quic_server_id: 9

            """)
        XCTAssertEqual(harness.datapath.violations, [])
    }

    /// Bad requests get a status and a one-line reason, and change nothing: the state
    /// file is byte-identical and the datapath saw no write.
    func testRefusedEditsChangeNothing() async throws {
        let cases: [(body: String, status: Int, error: String)] = [
            ("nope", 400, "the body is not JSON: expected an object such as {\"op\":\"remove_vip\",\"vip\":\"10.0.0.10:80/tcp\"}"),
            ("[1]", 400, "the body must be a JSON object"),
            (#"{"vip":"10.0.0.10:80/tcp"}"#, 400, "'op' is required"),
            (#"{"op":"rename_vip","vip":"10.0.0.10:80/tcp"}"#, 400,
             "unknown op 'rename_vip' (expected one of: add_backend, add_vip, drain, remove_backend, remove_vip, set_weight, undrain)"),
            (#"{"op":"add_backend","vip":"10.0.0.10:80/tcp","address":"192.0.2.14","wieght":5}"#, 400,
             "'wieght' does not apply to add_backend (it takes: address, quic_server_id, vip, weight)"),
            (#"{"op":"add_backend","vip":"10.0.0.10:80/tcp"}"#, 400, "add_backend needs 'address'"),
            (#"{"op":"set_weight","vip":"10.0.0.10:80/tcp","address":"192.0.2.11","weight":"5"}"#, 400,
             "'weight': expected an integer"),
            (#"{"op":"set_weight","vip":"10.0.0.10:80/tcp","address":"192.0.2.11","weight":1.5}"#, 400,
             "'weight': expected an integer"),
            (#"{"op":"set_weight","vip":"10.0.0.10:80/tcp","address":"192.0.2.11","weight":true}"#, 400,
             "'weight': expected an integer"),
            (#"{"op":"set_weight","vip":"10.0.0.10:80/tcp","address":"192.0.2.11","weight":70000}"#, 400,
             "VIP 10.0.0.10:80/tcp: backend 192.0.2.11 has weight 70000; weights are 0...65535"),
            (#"{"op":"add_vip","vip":"10.0.0.300:80/tcp"}"#, 400,
             "bad VIP '10.0.0.300:80/tcp': bad IPv4 address '10.0.0.300': 300 is above 255"),
            (#"{"op":"add_vip","vip":"10.0.0.10:80/tcp"}"#, 409, "VIP 10.0.0.10:80/tcp already exists"),
            (#"{"op":"add_vip","vip":"10.0.0.30:80/tcp","udp_idle_timeout":"5s"}"#, 400,
             "VIP 10.0.0.30:80/tcp: udp_idle_timeout applies to UDP VIPs only"),
            (#"{"op":"add_vip","vip":"10.0.0.30:443/tcp","quic":true}"#, 400,
             "VIP 10.0.0.30:443/tcp: quic applies to UDP VIPs only"),
            (#"{"op":"add_vip","vip":"10.0.0.30:443/udp","quic_server_id_length":3}"#, 400,
             "'quic': quic_server_id_length and quic_connection_id_length need quic: true"),
            (#"{"op":"add_backend","vip":"10.0.0.10:53/udp","address":"192.0.2.14","quic_server_id":3}"#, 400,
             "VIP 10.0.0.10:53/udp: backend 192.0.2.14 has a quic_server_id but the VIP is not quic: true"),
            (#"{"op":"add_vip","vip":"10.0.0.30:53/udp","hash":"random"}"#, 400,
             "'hash': Cannot initialize HashMode from invalid String value random"),
            (#"{"op":"add_backend","vip":"10.0.0.10:80/tcp","address":"192.0.2.11","weight":5}"#, 409,
             "VIP 10.0.0.10:80/tcp already has backend 192.0.2.11"),
            (#"{"op":"add_backend","vip":"10.0.0.10:80/tcp","address":"192.0.2.13"}"#, 409,
             "VIP 10.0.0.10:80/tcp already has backend 192.0.2.13"),
            (#"{"op":"add_vip","vip":"10.0.0.10:53/udp"}"#, 409, "VIP 10.0.0.10:53/udp already exists"),
            (#"{"op":"add_backend","vip":"10.0.0.10:80/tcp","address":"2001:db8::1"}"#, 400, ""),
            (#"{"op":"add_backend","vip":"10.0.0.99:80/tcp","address":"192.0.2.11"}"#, 404, "no VIP 10.0.0.99:80/tcp"),
            (#"{"op":"remove_backend","vip":"10.0.0.10:80/tcp","address":"192.0.2.99"}"#, 404,
             "VIP 10.0.0.10:80/tcp has no backend 192.0.2.99"),
            (#"{"op":"drain","address":"192.0.2.99"}"#, 404, "192.0.2.99 is not a backend of any VIP"),
            (#"{"op":"remove_vip","vip":"10.0.0.99:80/tcp"}"#, 404, "no VIP 10.0.0.99:80/tcp"),
        ]
        let before = try harness.stateFile
        harness.datapath.clearLog()
        let client = harness.client()
        for (body, status, error) in cases {
            let response = try await client.send(.post("/v1/edit", json: body))
            XCTAssertEqual(response.status, status, body)
            let reason = try json(response.body)["error"] as? String
            if error.isEmpty {
                XCTAssertFalse(reason?.isEmpty ?? true, body)
            } else {
                XCTAssertEqual(reason, error, body)
            }
            XCTAssertFalse(reason?.contains("\n") ?? true, "one line: \(body)")
        }
        XCTAssertEqual(try harness.stateFile, before, "the state file is byte-identical")
        XCTAssertEqual(harness.datapath.log, [], "no map write")
    }

    func testApplyShowsThePlanAndAppliesOnlyWithoutDryRun() async throws {
        let file = """
            services:
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.11, weight: 100 }, { address: 192.0.2.14 } ]
              - vip: 10.0.0.40:80/tcp
                backends: [ { address: 192.0.2.41 } ]
            """
        let plan = """
            + 10.0.0.40:80/tcp hash 5tuple
                + 192.0.2.41 weight 100
            - 10.0.0.10:53/udp (0 backends)
            ~ 10.0.0.10:80/tcp
                + 192.0.2.14 weight 100
                - 192.0.2.12
                - 192.0.2.13
            1 VIP added, 1 removed, 1 changed
            """
        let client = harness.client()
        let before = try harness.stateFile
        let version = try savedVersion
        let dry = try await client.send(.post("/v1/apply?dry_run=1", yaml: file))
        XCTAssertEqual(dry.status, 200)
        XCTAssertEqual(try json(dry.body), ["plan": plan, "added": ["10.0.0.40:80/tcp"], "removed": ["10.0.0.10:53/udp"],
                                            "changed": ["10.0.0.10:80/tcp"], "applied": false, "kept": [], "version": version])
        XCTAssertEqual(try harness.stateFile, before, "a dry run saves nothing")

        let applied = try await client.send(.post("/v1/apply?dry_run=0", yaml: file))
        XCTAssertEqual(try json(applied.body), ["plan": plan, "added": ["10.0.0.40:80/tcp"], "removed": ["10.0.0.10:53/udp"],
                                                "changed": ["10.0.0.10:80/tcp"], "applied": true, "kept": [],
                                                "version": try savedVersion])
        XCTAssertNotEqual(try savedVersion, version)
        let export = try await client.send(.get("/v1/export"))
        let again = try await client.send(.post("/v1/apply?dry_run=1", yaml: export.text))
        XCTAssertEqual(try json(again.body), ["plan": "no changes", "added": [], "removed": [], "changed": [],
                                              "applied": false, "kept": [], "version": try savedVersion],
                       "export is accepted by apply")
        XCTAssertEqual(try DesiredState(json: try harness.stateFile, limits: APIHarness.limits),
                       try DesiredState(yaml: file, limits: APIHarness.limits))
    }

    /// Without prune, the services the file lacks stay (and count against the limits).
    func testApplyWithoutPruneKeepsTheServicesNotInTheFile() async throws {
        let file = "services:\n  - vip: 10.0.0.40:80/tcp\n    backends: [ { address: 192.0.2.41 } ]\n"
        let client = harness.client()
        let applied = try await client.send(.post("/v1/apply?dry_run=0&prune=0", yaml: file))
        XCTAssertEqual(try json(applied.body), ["plan": "+ 10.0.0.40:80/tcp hash 5tuple\n    + 192.0.2.41 weight 100\n"
                                                    + "1 VIP added, 0 removed, 0 changed",
                                                "added": ["10.0.0.40:80/tcp"], "removed": [], "changed": [],
                                                "applied": true, "kept": ["10.0.0.10:53/udp", "10.0.0.10:80/tcp"],
                                                "version": try savedVersion])
        let saved = try DesiredState(json: try harness.stateFile, limits: APIHarness.limits)
        XCTAssertEqual(saved.sortedServices.map(\.vip.description), ["10.0.0.10:53/udp", "10.0.0.10:80/tcp", "10.0.0.40:80/tcp"])
        // Kept services and the file's together over max_vips (8): refused whole.
        let many = "services:\n" + (41...47).map { "  - vip: 10.0.0.\($0):80/tcp\n" }.joined()
        let before = try harness.stateFile
        let refused = try await client.send(.post("/v1/apply?dry_run=0&prune=0", yaml: many))
        XCTAssertEqual(refused.status, 400)
        XCTAssertEqual(try json(refused.body)["error"] as? String, "10 VIPs exceed limits.max_vips 8")
        XCTAssertEqual(try harness.stateFile, before)
    }

    /// The optimistic-concurrency guard: an apply names the version its plan was made
    /// against, and is refused, changing nothing, once another edit moved the state.
    func testApplyAgainstAnOlderVersionIsRefused() async throws {
        let file = "services:\n  - vip: 10.0.0.40:80/tcp\n"
        let client = harness.client()
        let planned = try await client.send(.post("/v1/apply?dry_run=1&prune=0", yaml: file))
        let version = try XCTUnwrap(try json(planned.body)["version"] as? String)
        XCTAssertEqual(version.count, 16)
        _ = try await client.send(.post("/v1/edit", json: #"{"op":"drain","address":"192.0.2.11"}"#))
        let before = try harness.stateFile
        harness.datapath.clearLog()
        let stale = try await client.send(.post("/v1/apply?dry_run=0&prune=0&if_version=\(version)", yaml: file))
        XCTAssertEqual(stale.status, 409)
        XCTAssertEqual(try json(stale.body), [
            "code": "state_changed",
            "error": "the services changed since the plan was made (version \(version), now \(try savedVersion)); "
                + "nothing applied: review the new plan and apply again",
        ])
        XCTAssertEqual(try harness.stateFile, before)
        XCTAssertEqual(harness.datapath.log, [], "no map write")
        let current = try await client.send(.post("/v1/apply?dry_run=0&prune=0&if_version=\(try savedVersion)", yaml: file))
        XCTAssertEqual(current.status, 200)
        XCTAssertEqual(try json(current.body)["applied"] as? Bool, true)
    }

    /// A retried edit (the first answer lost to a timeout) finds the state already so:
    /// 200 with changed false, nothing written; an edit that conflicts stays 409 (above).
    func testRepeatedEditsAnswerUnchangedAndWriteNothing() async throws {
        let client = harness.client()
        let first = try await client.send(.post("/v1/edit", json: #"{"op":"add_vip","vip":"10.0.0.40:53/udp","hash":"source","udp_idle_timeout":"30s"}"#))
        XCTAssertEqual(try json(first.body)["changed"] as? Bool, true)
        let before = try harness.stateFile
        harness.datapath.clearLog()
        for body in [#"{"op":"add_vip","vip":"10.0.0.40:53/udp","hash":"source","udp_idle_timeout":"30s"}"#,
                     #"{"op":"add_backend","vip":"10.0.0.10:80/tcp","address":"192.0.2.12","weight":50}"#,
                     #"{"op":"set_weight","vip":"10.0.0.10:80/tcp","address":"192.0.2.12","weight":50}"#,
                     #"{"op":"drain","vip":"10.0.0.10:80/tcp","address":"192.0.2.13"}"#,
                     #"{"op":"undrain","address":"192.0.2.11"}"#] {
            let response = try await client.send(.post("/v1/edit", json: body))
            XCTAssertEqual(response.status, 200, body)
            XCTAssertEqual(try json(response.body), ["ok": true, "changed": false, "version": try savedVersion], body)
        }
        XCTAssertEqual(try harness.stateFile, before, "the state file is byte-identical")
        XCTAssertEqual(harness.datapath.log, [], "no map write")
    }

    func testStatusOfOneVIP() async throws {
        let client = harness.client()
        let one = try await client.send(.get("/v1/status?vip=10.0.0.10%3A53%2Fudp"))
        XCTAssertEqual(one.status, 200)
        let status = try json(one.body)
        XCTAssertEqual((status["services"] as? [NSDictionary])?.map { $0["vip"] as? String }, ["10.0.0.10:53/udp"])
        XCTAssertEqual(status["version"] as? String, try savedVersion)
        let missing = try await client.send(.get("/v1/status?vip=10.0.0.10:54/udp"))
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(try json(missing.body), ["error": "no VIP 10.0.0.10:54/udp"])
        let bad = try await client.send(.get("/v1/status?vip=nonsense"))
        XCTAssertEqual(bad.status, 400)
    }

    func testApplyRefusesAnInvalidFileWithPositions() async throws {
        let before = try harness.stateFile
        let response = try await harness.client().send(.post("/v1/apply?dry_run=0", yaml: """
            services:
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.11, weight: -1 } ]
              - vip: 10.0.0.300:80/tcp
            """))
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(try json(response.body)["error"] as? String, """
            3:48: VIP 10.0.0.10:80/tcp: backend 192.0.2.11 has weight -1; weights are 0...65535
            4:10: vip: bad VIP '10.0.0.300:80/tcp': bad IPv4 address '10.0.0.300': 300 is above 255
            """)
        XCTAssertEqual(try harness.stateFile, before)
        let badFlag = try await harness.client().send(.post("/v1/apply?dry_run=yes", yaml: "services: []"))
        XCTAssertEqual(badFlag.status, 400)
        XCTAssertEqual(try json(badFlag.body)["error"] as? String, "dry_run must be 0 or 1, not 'yes'")
    }

    func testUnknownEndpointsAre404() async throws {
        let client = harness.client()
        for (method, target) in [("GET", "/"), ("GET", "/v1/nope"), ("POST", "/v1/services"), ("GET", "/v1/edit"),
                                 ("DELETE", "/v1/services"), ("GET", "/v2/status")] {
            let response = try await client.send(HTTPRequest(method: method, target: target))
            XCTAssertEqual(response.status, 404, "\(method) \(target)")
            XCTAssertEqual(response.text, "{\n  \"error\" : \"no such endpoint\"\n}\n")
        }
    }

    func testTheSocketIsRestrictedAndRemovedAtShutdown() async throws {
        var info = stat()
        XCTAssertEqual(lstat(harness.socketPath, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o660)
        XCTAssertEqual(info.st_uid, 0)
        // An idle keep-alive connection does not hold the shutdown up.
        let path = harness.socketPath
        let idle = try harness.connection()
        _ = try await idle.exchange(.get("/v1/services"))
        try await harness.stop()
        harness = nil
        let closed = await idle.isClosedByPeer()
        XCTAssertTrue(closed)
        XCTAssertNotEqual(access(path, F_OK), 0, "the socket file is removed")
    }

    /// A second server on the same path is refused while the first serves; a socket left
    /// by a dead daemon is replaced.
    func testALiveSocketIsRefusedAndAStaleOneReplaced() async throws {
        let router = APIRouter(coordinator: harness.coordinator, status: StatusReporter(
            coordinator: harness.coordinator, reconciler: harness.reconciler,
            readings: InMemoryDatapathReadings(datapath: harness.datapath), ringSize: 1009))
        do {
            _ = try await APIServer.bind(path: harness.socketPath, router: router)
            XCTFail("bound over a live socket")
        } catch {
            XCTAssertEqual("\(error)", "api_socket \(harness.socketPath) is in use: another lbd is running")
        }
        let stale = harness.directory + "/stale.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(stale.utf8)) }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(fd)
        let server = try await APIServer.bind(path: stale, router: router)
        let task = Task { try await server.run() }
        let response = try await LBDClient(socketPath: stale).send(.get("/v1/services"))
        XCTAssertEqual(response.status, 200)
        task.cancel()
        _ = try? await task.value
    }
}
