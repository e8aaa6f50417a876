import Balancer
import Datapath
import Foundation
import LBDAPI
import TestSupport

/// What the control-plane benchmarks share: the real lbd (built next to the benchmark)
/// on a veth in its own network namespace, with its own pin, state and socket
/// directories, and processes started in that namespace. Everything is torn down once,
/// at the end, on failure and on SIGINT/SIGTERM too (`run`).
public final class Environment: @unchecked Sendable {
    public let id = uniqueName()
    public var namespace: String { "lbd-bench-\(id)" }
    public var interface: String { "lbi\(id)" }
    public var peer: String { "lbp\(id)" }
    public var pins: String { "/sys/fs/bpf/\(namespace)" }
    public let directory: String
    public var socket: String { directory + "/run/lbd.sock" }
    private let name: String
    private let lock = NSLock()
    private var processes: [Process] = []
    private var cleaned = false

    /// `name`: the benchmark's, for its directory and messages.
    public init(name: String) {
        self.name = name
        directory = NSTemporaryDirectory() + uniqueName("lbd-\(name)-")
    }

    /// Runs `body` in a set-up environment and tears it down whatever happens (`runToTheEnd`).
    public func run(_ body: (Environment) throws -> Void) -> Never {
        runToTheEnd(name, tearDown: { [self] in tearDown() }) {
            try requireRoot("\(name) (a network namespace, BPF programs)")
            try setUp()
            try body(self)
        }
    }

    private func setUp() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try shell("ip", "netns", "add", namespace)
        try shell("ip", "link", "add", interface, "type", "veth", "peer", "name", peer)
        try shell("ip", "link", "set", interface, "netns", namespace)
        try shell("ip", "link", "set", peer, "up")
        try shell("ip", "-n", namespace, "link", "set", "lo", "up")
        try shell("ip", "-n", namespace, "link", "set", interface, "up")
        try shell("ip", "-n", namespace, "addr", "add", "192.168.200.2/24", "dev", interface)
        try shell("ip", "-n", namespace, "route", "add", "default", "via", "192.168.200.1")
        try shell("ip", "-n", namespace, "neigh", "replace", "192.168.200.1", "lladdr", "02:00:00:00:c8:01",
                  "dev", interface, "nud", "permanent")
    }

    /// lbd's configuration: generic XDP, this environment's socket, state and pins.
    public func writeConfig(limits: Limits, services: String = "services: []") throws -> String {
        let path = directory + "/lbd.yaml"
        try """
            interface: \(interface)
            xdp_mode: generic
            gateway_mac: auto
            encap_source_v4: 172.16.0.0/16
            api_socket: \(socket)
            state_dir: \(directory)/state
            bpf_pin_dir: \(pins)
            limits: { max_vips: \(limits.maxVIPs), max_backends: \(limits.maxBackends), ring_size: \(limits.ringSize), connection_table: \(limits.connectionTable) }
            \(services)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// lbd in the namespace: the one built next to this binary, or $LBD_BINARY.
    public func startDaemon(config: String) throws -> Process {
        let binary = try ProcessInfo.processInfo.environment["LBD_BINARY"] ?? LBDBinary.path
        return try start([binary, "--config", config], log: directory + "/lbd.log")
    }

    /// `command` in the namespace (`nsenter --net` execs it: the pid is the command's),
    /// its output in `log`; stopped at teardown.
    public func start(_ command: [String], log: String) throws -> Process {
        let process = try startLogged(["nsenter", "--net=/run/netns/\(namespace)"] + command, log: log)
        lock.withLock { processes.append(process) }
        return process
    }

    public var log: String { (try? String(contentsOfFile: directory + "/lbd.log", encoding: .utf8)) ?? "" }

    /// One keep-alive connection to lbd's API, once it answers (a minute per request).
    public func waitForAPI(_ process: Process) throws -> UnixSocketConnection {
        var client: UnixSocketConnection?
        try waitForBlocking("lbd serving \(socket):\n\(log)", within: .seconds(30), every: .milliseconds(50)) {
            guard process.isRunning else { throw BenchError("lbd exited (\(process.terminationStatus)):\n\(log)") }
            client = try? UnixSocketConnection(path: socket, timeout: .seconds(60))
            return (try? client?.exchange(.get("/v1/services"))) != nil
        }
        return client!
    }

    /// Stops every process (SIGTERM, then SIGKILL after 10 s), removes the namespace,
    /// the pins and the directory. Once.
    public func tearDown() {
        let running: [Process]? = lock.withLock {
            if cleaned { return nil }
            cleaned = true
            return processes
        }
        guard let running else { return }
        for process in running.reversed() where process.isRunning {
            terminate(process.processIdentifier, within: .seconds(10)) { !process.isRunning }
        }
        _ = try? shell("ip", "netns", "del", namespace)
        _ = try? shell("ip", "link", "del", peer)
        _ = try? BalancerDatapath.removePins(pinDirectory: pins)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
