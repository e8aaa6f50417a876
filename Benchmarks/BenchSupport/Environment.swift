import Balancer
import Datapath
import Foundation
import LBDAPI

/// What the control-plane benchmarks share: the real lbd (built next to the benchmark)
/// on a veth in its own network namespace, with its own pin, state and socket
/// directories, and processes started in that namespace. Everything is torn down once,
/// at the end, on failure and on SIGINT/SIGTERM too (`run`).
public final class Environment: @unchecked Sendable {
    public let id = String(UInt32.random(in: 0 ... .max), radix: 36)
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
        directory = NSTemporaryDirectory() + "lbd-\(name)-\(getpid())"
    }

    /// Runs `body` in a set-up environment and tears it down whatever happens; exits 1
    /// with the error on failure, 130 on SIGINT/SIGTERM.
    public func run(_ body: (Environment) throws -> Void) -> Never {
        var signalSources: [DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                tearDown()
                exit(130)
            }
            source.resume()
            signalSources.append(source)
        }
        do {
            try setUp()
            try body(self)
            tearDown()
            exit(0)
        } catch {
            tearDown()
            FileHandle.standardError.write(Data("\(name): \(error)\n".utf8))
            exit(1)
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
        let binary = ProcessInfo.processInfo.environment["LBD_BINARY"]
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("lbd").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchError("lbd is not built next to \(name) (\(binary)): swift build -c release --product lbd")
        }
        return try start([binary, "--config", config], log: directory + "/lbd.log")
    }

    /// `command` in the namespace (`nsenter --net` execs it: the pid is the command's),
    /// its output in `log`; stopped at teardown.
    public func start(_ command: [String], log: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        process.arguments = ["--net=/run/netns/\(namespace)"] + command
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        lock.withLock { processes.append(process) }
        return process
    }

    public var log: String { (try? String(contentsOfFile: directory + "/lbd.log", encoding: .utf8)) ?? "" }

    /// One keep-alive connection to lbd's API, once it answers (a minute per request).
    public func waitForAPI(_ process: Process) throws -> UnixSocketConnection {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw BenchError("lbd exited (\(process.terminationStatus)):\n\(log)") }
            if let client = try? UnixSocketConnection(path: socket, timeout: .seconds(60)),
               (try? client.exchange(.get("/v1/services"))) != nil {
                return client
            }
            usleep(50_000)
        }
        throw BenchError("lbd did not serve \(socket) within 30 s:\n\(log)")
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
            kill(process.processIdentifier, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(10)
            while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
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

/// Runs a command to completion; its stdout, or an error with its stderr.
@discardableResult
public func shell(_ arguments: String...) throws -> String {
    try shell(arguments)
}

@discardableResult
public func shell(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw BenchError("\(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): "
            + String(decoding: stderr, as: UTF8.self))
    }
    return String(decoding: stdout, as: UTF8.self)
}
