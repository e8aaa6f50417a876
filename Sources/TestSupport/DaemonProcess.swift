import Foundation

/// The real `lbd` binary run in a network namespace (`nsenter --net`, which keeps bpffs
/// usable, unlike `ip netns exec`), its output collected in a log file.
public final class DaemonProcess {
    public let process = Process()
    public let log: String

    /// `launcher`: a command that runs the rest, exec'ing it (scripts/fresh-bpffs);
    /// `wrapper`: the same, run in the namespace just before lbd (setpriv).
    public init(namespace: String, config: String, arguments: [String] = [], environment: [String: String] = [:],
                log: String, launcher: [String] = [], wrapper: [String] = []) throws {
        self.log = log
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let command = launcher + ["/usr/bin/nsenter", "--net=/run/netns/\(namespace)"] + wrapper
            + [try LBDBinary.path, "--config", config] + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    public var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Sends `signal` and waits for the exit; returns the exit status (or signal number).
    public func stop(_ signal: Int32) async throws -> Int32 {
        kill(process.processIdentifier, signal)
        return try await waitForExit()
    }

    public func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { throw Failure("lbd did not exit:\n\(output)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }
}
