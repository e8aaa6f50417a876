import Balancer
import CLBABI
import Daemon
import Datapath
import Foundation
import LBDAPI
import TestSupport
import XCTest

/// The real lbd reloading its settings into lb_config, and starting again from a damaged
/// state file.
final class ReloadRecoveryTests: XCTestCase {
    private let limits = Limits(maxVIPs: 8, maxBackends: 16, ringSize: 1009, connectionTable: 4096)

    private func writeConfig(_ sandbox: DaemonSandbox, settings: String) throws -> String {
        let path = sandbox.directory + "/lbd.yaml"
        try """
            interface: \(sandbox.network.interface)
            \(settings)
            api_socket: \(sandbox.socket)
            state_dir: \(sandbox.directory)/state
            bpf_pin_dir: \(sandbox.pins)
            limits: { max_vips: 8, max_backends: 16, ring_size: 1009, connection_table: 4096 }
            services:
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.11 }, { address: 192.0.2.12 } ]
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private static let startSettings = "gateway_mac: auto\nencap_source_v4: 172.16.0.0/16"

    /// lbd on `config`, once its API answers.
    private func start(_ sandbox: DaemonSandbox, _ config: String, arguments: [String] = []) async throws -> DaemonProcess {
        let daemon = try DaemonProcess(network: sandbox.network, config: config, arguments: arguments, log: sandbox.log)
        daemon.killAtTeardown(of: self)
        try await daemon.waitForAPI(sandbox.socket)
        return daemon
    }

    private func runtimeConfig(_ sandbox: DaemonSandbox) throws -> lb_config {
        let datapath = try BalancerDatapath.open(pinDirectory: sandbox.pins, limits: try DatapathSettings.limits(limits))
        return try XCTUnwrap(try datapath.config.lookup(key: 0))
    }

    private func bytes<T>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) }
    }

    /// SIGHUP rewrites lb_config with the file's gateway MAC, encapsulation sources and
    /// UDP idle timeout: the map holds exactly the new values, the MTU as it was.
    func testSIGHUPWritesTheNewSettingsIntoLbConfig() async throws {
        let sandbox = try DaemonSandbox(self)
        let config = try writeConfig(sandbox, settings: Self.startSettings)
        let daemon = try await start(sandbox, config)
        let before = try runtimeConfig(sandbox)
        XCTAssertEqual(bytes(before.gateway_mac), [0x02, 0, 0, 0, 0xc8, 0x01])
        XCTAssertEqual(bytes(before.encap_src_v4) + bytes(before.encap_src_v4_mask), [172, 16, 0, 0, 255, 255, 0, 0])
        XCTAssertEqual(bytes(before.encap_src_v6), [UInt8](repeating: 0, count: 16))
        XCTAssertEqual(before.udp_idle_timeout_s, 30)

        _ = try writeConfig(sandbox, settings: """
            gateway_mac: 02:00:00:00:c8:99
            encap_source_v4: 172.17.128.0/17
            encap_source_v6: fd00:1b::/64
            udp_idle_timeout: 45s
            """)
        kill(daemon.process.processIdentifier, SIGHUP)
        try await daemon.waitForOutput("msg=\"configuration reloaded\"", count: 1)
        let after = try runtimeConfig(sandbox)
        XCTAssertEqual(bytes(after.gateway_mac), [0x02, 0, 0, 0, 0xc8, 0x99])
        XCTAssertEqual(after.mtu, 1500)
        XCTAssertEqual(bytes(after.encap_src_v4) + bytes(after.encap_src_v4_mask), [172, 17, 128, 0, 255, 255, 128, 0])
        XCTAssertEqual(bytes(after.encap_src_v6), [0xfd, 0, 0, 0x1b] + [UInt8](repeating: 0, count: 12))
        XCTAssertEqual(bytes(after.encap_src_v6_mask), [UInt8](repeating: 0xff, count: 8) + [UInt8](repeating: 0, count: 8))
        XCTAssertEqual(after.udp_idle_timeout_s, 45)
        let status = try await daemon.stop(SIGTERM)
        XCTAssertEqual(status, 0)
    }

    /// A damaged state.json stops the start with the way out; `--recover-state` starts
    /// from the state before the last edit and keeps the damaged file.
    func testADamagedStateFileIsRecoveredFromThePreviousOne() async throws {
        let sandbox = try DaemonSandbox(self)
        let config = try writeConfig(sandbox, settings: Self.startSettings)
        var daemon = try await start(sandbox, config)
        let seeded = try await LBDClient(socketPath: sandbox.socket).send(.get("/v1/services")).body
        let edit = try await LBDClient(socketPath: sandbox.socket).send(
            .post("/v1/edit", json: #"{"op":"remove_vip","vip":"10.0.0.10:80/tcp"}"#))
        XCTAssertEqual(edit.status, 200, edit.text)
        let stopped = try await daemon.stop(SIGTERM)
        XCTAssertEqual(stopped, 0)

        let state = sandbox.directory + "/state/state.json"
        try "{\"version\": 1, \"servi".write(toFile: state, atomically: true, encoding: .utf8)
        daemon = try DaemonProcess(network: sandbox.network, config: config, log: sandbox.log)
        let refused = try await daemon.waitForExit()
        XCTAssertEqual(refused, 78)
        XCTAssertTrue(daemon.output.contains("start lbd once with --recover-state to go back to state.json.prev"),
                      daemon.output)

        daemon = try await start(sandbox, config, arguments: ["--recover-state"])
        XCTAssertTrue(daemon.output.contains("msg=\"--recover-state: started from the previous state; the damaged file is kept\""),
                      daemon.output)
        let recovered = try await LBDClient(socketPath: sandbox.socket).send(.get("/v1/services")).body
        XCTAssertEqual(recovered, seeded, "the state before the edit")
        XCTAssertEqual(try String(contentsOfFile: state + ".corrupt", encoding: .utf8), "{\"version\": 1, \"servi")
        let last = try await daemon.stop(SIGTERM)
        XCTAssertEqual(last, 0)
    }
}
