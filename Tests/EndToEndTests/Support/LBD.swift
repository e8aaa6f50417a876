import Foundation
import LBDAPI
import TestSupport
import XCTest

/// The real lbd on the topology's LB interface (of LB node `node` in a fleet), configured
/// from the topology's address plan, and the real lbctl talking to it. Its files live in
/// the topology's scratch directory and its pins under the topology's, so
/// `lbd-topology down` removes them.
final class LBD {
    private let topology: Topology
    /// The topology's variable prefix of this node: `LB`, `LB2`, …
    private let prefix: String
    private let config: String
    private let socket: String
    private let log: String
    private var daemon: DaemonProcess?

    /// lbd started with `services` as its seed state; `mtu` is lbd's largest outer packet
    /// toward the backends. `announce`: the body of its `announce:` section as a YAML flow
    /// mapping, completed with the node's BIRD socket and routes file (a `--bird` topology).
    /// `settings`: more lines of the configuration (`tcp_idle_timeout: 3s`).
    init(_ test: XCTestCase, on topology: Topology, node: Int = 1, services: [Service], mtu: Int = 1500,
         maxVIPs: Int = 8, announce: String? = nil, settings: String = "") async throws {
        self.topology = topology
        prefix = node == 1 ? "LB" : "LB\(node)"
        let directory = try topology.value("TOPOLOGY_DIR") + (node == 1 ? "" : "/lb\(node)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        config = directory + "/lbd.yaml"
        socket = directory + "/lbd.sock"
        log = directory + "/lbd.log"
        test.addTeardownBlock { [self] in
            daemon?.process.terminate()
            daemon?.process.waitUntilExit()
        }
        try writeConfig(services: services, mtu: mtu, maxVIPs: maxVIPs, announce: announce, settings: settings,
                        directory: directory)
        try await start()
    }

    /// Everything from the topology's plan: its LB interface and XDP mode, the gateway's
    /// neighbour entry it made (`auto`), its encapsulation sources, its BIRD.
    private func writeConfig(services: [Service], mtu: Int, maxVIPs: Int, announce: String?, settings: String,
                             directory: String) throws {
        let announceSection = try announce.map {
            "announce: { bird_socket: \(try topology.value(prefix + "_BIRD_SOCKET")), "
                + "routes_file: \(try topology.value(prefix + "_BIRD_ROUTES")), \($0) }\n"
        } ?? ""
        try """
            interface: \(topology.value(prefix + "_IF"))
            xdp_mode: \(topology.value("XDP_MODE"))
            gateway_mac: auto
            encap_source_v4: \(topology.value("ENCAP_SOURCE4"))
            encap_source_v6: \(topology.value("ENCAP_SOURCE6"))
            mtu: \(mtu)
            api_socket: \(socket)
            state_dir: \(directory)/state
            bpf_pin_dir: \(topology.value(prefix == "LB" ? "LBD_PIN_DIR" : prefix + "_PIN_DIR"))
            limits: { max_vips: \(maxVIPs), max_backends: 16, ring_size: 1009, connection_table: 65536 }
            \(settings.isEmpty ? "" : settings + "\n")\(announceSection)\(Service.yaml(services))
            """.write(toFile: config, atomically: true, encoding: .utf8)
    }

    /// Starts lbd (adopting what a previous one pinned) and waits until lbctl gets answers.
    func start() async throws {
        let daemon = try DaemonProcess(namespace: topology.value(prefix + "_NS"), config: config, log: log)
        self.daemon = daemon
        try await waitFor("lbd serving its API:\n\(daemon.output)", within: .seconds(30), every: .milliseconds(50)) {
            guard daemon.process.isRunning else { throw EndToEndFailure("lbd exited:\n\(daemon.output)") }
            return try runProcess(LbctlBinary.path, ["--socket", socket, "status"]).status == 0
        }
    }

    /// Sends `signal` to lbd and waits for its exit status (or signal number).
    func stop(_ signal: Int32) async throws -> Int32 {
        try await self.signal(signal).waitForExit()
    }

    /// Sends `signal` to lbd without waiting; the process, to wait for its exit.
    func signal(_ signal: Int32) throws -> DaemonProcess {
        guard let daemon else { throw EndToEndFailure("lbd is not running") }
        self.daemon = nil
        kill(daemon.process.processIdentifier, signal)
        return daemon
    }

    /// lbctl with `arguments`; its stdout. Fails unless it exits 0.
    @discardableResult
    func lbctl(_ arguments: String...) throws -> String {
        try shell([LbctlBinary.path, "--socket", socket] + arguments)
    }

    /// lbctl with `arguments` on a thread of its own (`backend drain --wait`): `finish()`
    /// waits for it and gives its output and when it exited.
    func lbctlInBackground(_ arguments: String...) throws -> BackgroundProcess {
        try BackgroundProcess(LbctlBinary.path, ["--socket", socket] + arguments)
    }

    /// `lbctl status --json`, read as the API's shape.
    func status() throws -> StatusResponse {
        try JSONDecoder().decode(StatusResponse.self, from: Data(lbctl("status", "--json").utf8))
    }

    var output: String { daemon?.output ?? "" }
}

/// A service of lbd's configuration (and of `lbctl apply`).
struct Service {
    var vip: String
    var backends: [(address: String, weight: Int)]
    /// The service's `health_check:` as a YAML flow mapping; none: backends always up.
    var healthCheck: String?
    /// `quic: true` with these `quic_server_id`s, one per backend in order; nil: not QUIC.
    var quicServerIDs: [Int]?

    /// `address:port/proto`, the IPv6 address in brackets.
    init(_ address: String, port: Int, _ proto: String, backends: [(address: String, weight: Int)], healthCheck: String? = nil,
         quicServerIDs: [Int]? = nil) {
        vip = (address.contains(":") ? "[\(address)]" : address) + ":\(port)/\(proto)"
        self.backends = backends
        self.healthCheck = healthCheck
        self.quicServerIDs = quicServerIDs
    }

    /// The `services:` key of lbd's configuration and of apply files.
    static func yaml(_ services: [Service]) -> String {
        services.isEmpty ? "services: []\n" : "services:\n" + services.map(\.yaml).joined()
    }

    private var yaml: String {
        let list = backends.enumerated().map { position, backend in
            let id = quicServerIDs.map { ", quic_server_id: \($0[position])" } ?? ""
            return "{ address: \"\(backend.address)\", weight: \(backend.weight)\(id) }"
        }.joined(separator: ", ")
        let check = healthCheck.map { "    health_check: \($0)\n" } ?? ""
        let quic = quicServerIDs == nil ? "" : "    quic: true\n"
        return "  - vip: \"\(vip)\"\n" + check + quic + "    backends: [ \(list) ]\n"
    }
}

extension StatusResponse {
    func backends(of vip: String) throws -> [Backend] {
        guard let service = services.first(where: { $0.vip == vip }) else { throw EndToEndFailure("no VIP \(vip) in \(services.map(\.vip))") }
        return service.backends
    }
}

/// A command run to completion on a thread of its own while the test goes on.
final class BackgroundProcess: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<(ProcessOutput, Date), any Error>?

    init(_ executable: String, _ arguments: [String]) throws {
        Thread { [self] in
            result = Result { (try runProcess(executable, arguments), Date()) }
            done.signal()
        }.start()
    }

    /// Its output, and the wall-clock time it exited.
    func finish() throws -> (output: ProcessOutput, exitedAt: Date) {
        done.wait()
        return try result!.get()
    }
}
