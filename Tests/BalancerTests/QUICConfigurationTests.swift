@testable import Balancer
import Foundation
import TestDoubles
import XCTest

/// `quic: true` VIPs: the services file, the API's JSON, validation with errors at their
/// node, and what the reconciler writes to `quic_servers`.
final class QUICConfigurationTests: XCTestCase {
    private static let header = "interface: eth0\nencap_source_v4: 172.16.0.0/16\nencap_source_v6: fd00::/64\n"
    private let quicVIP = vip("10.0.0.10:443/udp")

    private func quicService(lengths: QUICSettings = QUICSettings(), ids: [String: Int?]) -> ServiceSpec {
        ServiceSpec(vip: quicVIP, quic: lengths, backends: ids.sorted { $0.key < $1.key }.map {
            BackendSpec(address: ip($0.key), quicServerID: $0.value)
        })
    }

    func testTheServicesFileReadsQUICSettingsAndExportsThemBack() throws {
        let yaml = """
            services:
              - vip: 10.0.0.10:443/udp
                quic: true
                quic_server_id_length: 1
                backends:
                  - { address: 192.0.2.11, quic_server_id: 7 }
                  - { address: 192.0.2.12, quic_server_id: 255, drained: true }
                  - { address: 192.0.2.13 }
              - vip: 10.0.0.10:53/udp
                backends: [ { address: 192.0.2.11 } ]

            """
        let state = try DesiredState(yaml: yaml, limits: testLimits)
        let service = try XCTUnwrap(state.services[quicVIP])
        XCTAssertEqual(service.quic, QUICSettings(serverIDLength: 1, connectionIDLength: 8))
        XCTAssertEqual(service.backends.map(\.quicServerID), [7, 255, nil])
        XCTAssertNil(state.services[vip("10.0.0.10:53/udp")]?.quic)
        let exported = state.yaml()
        XCTAssertTrue(exported.contains("""
                on_backend_down: move
                quic: true
                quic_server_id_length: 1
                quic_connection_id_length: 8
            """), exported)
        XCTAssertTrue(exported.contains("        drained: false\n        quic_server_id: 7\n"), exported)
        XCTAssertEqual(try DesiredState(yaml: exported, limits: testLimits), state)
    }

    func testTheAPIsJSONCarriesQUICSettings() throws {
        let service = quicService(lengths: QUICSettings(serverIDLength: 3, connectionIDLength: 12),
                                  ids: ["192.0.2.11": 70000, "192.0.2.12": nil])
        let json = try JSONEncoder().encode(service)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: json) as? [String: Any])
        XCTAssertEqual(object["quic"] as? Bool, true)
        XCTAssertEqual(object["quic_server_id_length"] as? Int, 3)
        XCTAssertEqual(object["quic_connection_id_length"] as? Int, 12)
        XCTAssertEqual(try JSONDecoder().decode(ServiceSpec.self, from: json), service)
        let plain = try JSONDecoder().decode(ServiceSpec.self, from: Data(#"{"vip":"10.0.0.10:53/udp"}"#.utf8))
        XCTAssertNil(plain.quic)
        let defaults = try JSONDecoder().decode(ServiceSpec.self, from: Data(#"{"vip":"10.0.0.10:53/udp","quic":true}"#.utf8))
        XCTAssertEqual(defaults.quic, QUICSettings(serverIDLength: 2, connectionIDLength: 8))
        XCTAssertThrowsError(try JSONDecoder().decode(ServiceSpec.self, from: Data(
            #"{"vip":"10.0.0.10:53/udp","quic_server_id_length":2}"#.utf8)))
    }

    /// (services lines, every error as `LINE:COL: message`).
    private static let invalid: [(String, [String])] = [
        ("  - vip: 10.0.0.10:443/tcp\n    quic: true", ["6:11: VIP 10.0.0.10:443/tcp: quic applies to UDP VIPs only"]),
        ("  - vip: 10.0.0.10:443/udp\n    quic: yes", ["6:11: quic: expected true or false, got 'yes'"]),
        ("  - vip: 10.0.0.10:443/udp\n    quic_server_id_length: 2", ["6:28: services[0]: quic_server_id_length needs quic: true"]),
        ("  - vip: 10.0.0.10:443/udp\n    quic: true\n    quic_server_id_length: 5",
         ["6:11: VIP 10.0.0.10:443/udp: quic_server_id_length 5 must be 1...4 and quic_connection_id_length 8 from "
            + "quic_server_id_length + 1 to 20"]),
        ("  - vip: 10.0.0.10:443/udp\n    quic: true\n    quic_server_id_length: 4\n    quic_connection_id_length: 4",
         ["6:11: VIP 10.0.0.10:443/udp: quic_server_id_length 4 must be 1...4 and quic_connection_id_length 4 from "
            + "quic_server_id_length + 1 to 20"]),
        ("  - vip: 10.0.0.10:443/udp\n    quic: true\n    quic_connection_id_length: 21",
         ["6:11: VIP 10.0.0.10:443/udp: quic_server_id_length 2 must be 1...4 and quic_connection_id_length 21 from "
            + "quic_server_id_length + 1 to 20"]),
        ("  - vip: 10.0.0.10:443/udp\n    backends: [ { address: 192.0.2.11, quic_server_id: 1 } ]",
         ["6:56: VIP 10.0.0.10:443/udp: backend 192.0.2.11 has a quic_server_id but the VIP is not quic: true"]),
        ("  - vip: 10.0.0.10:443/udp\n    quic: true\n    quic_server_id_length: 1\n"
            + "    backends: [ { address: 192.0.2.11, quic_server_id: 256 } ]",
         ["8:56: VIP 10.0.0.10:443/udp: backend 192.0.2.11 has quic_server_id 256; 1-octet server ids are 0...255"]),
        ("  - vip: 10.0.0.10:443/udp\n    quic: true\n    backends: [ { address: 192.0.2.11, quic_server_id: -1 } ]",
         ["7:56: VIP 10.0.0.10:443/udp: backend 192.0.2.11 has quic_server_id -1; 2-octet server ids are 0...65535"]),
        ("  - vip: 10.0.0.10:443/udp\n    quic: true\n    backends:\n      - { address: 192.0.2.11, quic_server_id: 9 }\n"
            + "      - { address: 192.0.2.12, quic_server_id: 9 }",
         ["9:48: VIP 10.0.0.10:443/udp: backend 192.0.2.12 has quic_server_id 9, already another backend's"]),
        ("  - vip: 10.0.0.10:443/udp\n    quic: true\n    backends: [ { address: 192.0.2.11, quic_server_id: one } ]",
         ["7:56: quic_server_id: expected an integer, got 'one'"]),
    ]

    func testInvalidQUICSettingsAreReportedAtTheirNode() {
        for (services, expected) in Self.invalid {
            let text = Self.header + "services:\n" + services + "\n"
            XCTAssertEqual(Configuration.check(yaml: text).map(\.description), expected, "file:\n\(text)")
        }
    }

    func testAnAPIEditIsValidatedLikeTheFile() throws {
        let state = try DesiredState(validating: [quicService(ids: ["192.0.2.11": 1])], limits: testLimits)
        XCTAssertThrowsError(try state.applying(.addBackend(quicVIP, BackendSpec(address: ip("192.0.2.12"), quicServerID: 1)),
                                                limits: testLimits)) { error in
            XCTAssertEqual("\(error)", "VIP 10.0.0.10:443/udp: backend 192.0.2.12 has quic_server_id 1, already another backend's")
        }
        let added = try state.applying(.addBackend(quicVIP, BackendSpec(address: ip("192.0.2.12"), quicServerID: 2)),
                                       limits: testLimits)
        XCTAssertEqual(added.services[quicVIP]?.backends.map(\.quicServerID), [1, 2])
    }

    /// quic_servers holds max_backends ids (and as many again during a change): two QUIC
    /// VIPs over the same two backends need four, refused by the file and by an edit.
    func testServerIDsBeyondMaxBackendsAreRefused() throws {
        let limits = Limits(maxBackends: 3, ringSize: 1009)
        let text = "limits: { max_backends: 3 }\n" + Self.header + "services:\n"
            + "  - vip: 10.0.0.10:443/udp\n    quic: true\n    backends: [ { address: 192.0.2.11, quic_server_id: 1 }, "
            + "{ address: 192.0.2.12, quic_server_id: 2 } ]\n"
            + "  - vip: 10.0.0.11:443/udp\n    quic: true\n    backends: [ { address: 192.0.2.11, quic_server_id: 1 }, "
            + "{ address: 192.0.2.12, quic_server_id: 2 } ]\n"
        XCTAssertEqual(Configuration.check(yaml: text).map(\.description),
                       ["6:3: 4 quic_server_ids (backends of quic VIPs, each VIP's counted) exceed limits.max_backends 3"])

        let second = ServiceSpec(vip: vip("10.0.0.11:443/udp"), quic: QUICSettings(),
                                 backends: [BackendSpec(address: ip("192.0.2.11"), quicServerID: 1)])
        let state = try DesiredState(validating: [quicService(ids: ["192.0.2.11": 1, "192.0.2.12": 2]), second], limits: limits)
        XCTAssertThrowsError(try state.applying(.addBackend(second.vip, BackendSpec(address: ip("192.0.2.12"), quicServerID: 2)),
                                                limits: limits)) { error in
            XCTAssertEqual("\(error)", "4 quic_server_ids (backends of quic VIPs, each VIP's counted) exceed limits.max_backends 3")
        }
        let withoutID = try state.applying(.addBackend(second.vip, BackendSpec(address: ip("192.0.2.12"))), limits: limits)
        XCTAssertEqual(Validation.quicServerCount(withoutID.services.values), 3)
    }

    // MARK: The reconciler

    func testTheReconcilerWritesEachServerIDsBackendBeforeTheVIPAndKeepsDrainedOnes() async throws {
        let datapath = InMemoryDatapath(limits: testLimits)
        let reconciler = Reconciler(writer: datapath, limits: testLimits)
        var service = quicService(ids: ["192.0.2.11": 0x0a01, "192.0.2.12": 0x0b02, "192.0.2.13": nil])
        try await reconciler.apply(DesiredState(validating: [service], limits: testLimits))
        let writes = datapath.log.filter { if case .writeQUICServers = $0 { true } else { false } }
        XCTAssertEqual(writes, [.writeQUICServers(vipIndex: 0, servers: [
            0x0a01: QUICServer(backendIndex: 1, backendGeneration: 1),
            0x0b02: QUICServer(backendIndex: 2, backendGeneration: 1),
        ])])
        guard case .installVIP(_, _, let info) = try XCTUnwrap(datapath.log.last) else { return XCTFail("\(datapath.log)") }
        XCTAssertEqual(info.flags, [.quic])
        XCTAssertEqual([info.quicConnectionIDLength, info.quicServerIDLength], [8, 2])
        XCTAssertLessThan(try XCTUnwrap(datapath.log.firstIndex(of: writes[0])),
                          try XCTUnwrap(datapath.log.firstIndex { if case .installVIP = $0 { true } else { false } }))

        // A drain leaves the ring but keeps the id: the backend's connections continue.
        datapath.clearLog()
        service.backends[1].drained = true
        try await reconciler.apply(DesiredState(validating: [service], limits: testLimits))
        XCTAssertFalse(datapath.log.contains { if case .writeQUICServers = $0 { true } else { false } }, "\(datapath.log)")
        XCTAssertEqual(datapath.quicServers(vipIndex: 0).keys.sorted(), [0x0a01, 0x0b02])

        // A backend removed loses its id before its entry is cleared.
        datapath.clearLog()
        service.backends.remove(at: 1)
        try await reconciler.apply(DesiredState(validating: [service], limits: testLimits))
        XCTAssertEqual(datapath.log.first { if case .writeQUICServers = $0 { true } else { false } },
                       .writeQUICServers(vipIndex: 0, servers: [0x0a01: QUICServer(backendIndex: 1, backendGeneration: 1)]))
        XCTAssertEqual(datapath.log.last, .clearBackend(index: 2))

        // Without quic: true, no ids; a VIP removed takes its ids along.
        service.quic = nil
        service.backends = service.backends.map { var backend = $0; backend.quicServerID = nil; return backend }
        try await reconciler.apply(DesiredState(validating: [service], limits: testLimits))
        XCTAssertEqual(datapath.quicServers(vipIndex: 0), [:])
        XCTAssertEqual(datapath.vipInfo(index: 0)?.flags, [])
        XCTAssertEqual(datapath.violations, [])
    }

    func testARemovedQUICVIPTakesItsServerIDsAlong() async throws {
        let datapath = InMemoryDatapath(limits: testLimits)
        let reconciler = Reconciler(writer: datapath, limits: testLimits)
        try await reconciler.apply(DesiredState(validating: [quicService(ids: ["192.0.2.11": 5])], limits: testLimits))
        datapath.clearLog()
        try await reconciler.apply(DesiredState(validating: [], limits: testLimits))
        XCTAssertEqual(datapath.log, [.removeVIP(quicVIP), .writeQUICServers(vipIndex: 0, servers: [:]),
                                      .clearBackend(index: 1)])
        XCTAssertEqual(datapath.violations, [])
    }

    func testAPlainVIPNeverWritesServerIDs() async throws {
        let datapath = InMemoryDatapath(limits: testLimits)
        let reconciler = Reconciler(writer: datapath, limits: testLimits)
        try await reconciler.apply(DesiredState(validating: [ServiceSpec(vip: quicVIP, backends: [backend("192.0.2.11")])],
                                                limits: testLimits))
        XCTAssertFalse(datapath.log.contains { if case .writeQUICServers = $0 { true } else { false } }, "\(datapath.log)")
    }

    func testAnAdoptedQUICVIPGetsItsServerIDsWrittenOnce() async throws {
        let datapath = InMemoryDatapath(limits: testLimits)
        let state = try DesiredState(validating: [quicService(ids: ["192.0.2.11": 5])], limits: testLimits)
        try await Reconciler(writer: datapath, limits: testLimits).apply(state)
        let restarted = Reconciler(writer: datapath, limits: testLimits)
        try await restarted.adopt(datapath.installedState())
        datapath.clearLog()
        try await restarted.apply(state)
        XCTAssertEqual(datapath.log, [.writeQUICServers(vipIndex: 0, servers: [5: QUICServer(backendIndex: 1, backendGeneration: 1)])])
        datapath.clearLog()
        try await restarted.apply(state)
        XCTAssertEqual(datapath.log, [])
    }
}
