import Foundation

/// The real `lbd` binary run in a network namespace (`nsenter --net`, which keeps bpffs
/// usable, unlike `ip netns exec`), its output collected in a log file.
public final class DaemonProcess {
    public let process: Process
    public let log: String

    /// `launcher`: a command that runs the rest, exec'ing it (scripts/fresh-bpffs);
    /// `wrapper`: the same, run in the namespace just before lbd (setpriv).
    public init(namespace: String, config: String, arguments: [String] = [], environment: [String: String] = [:],
                log: String, launcher: [String] = [], wrapper: [String] = []) throws {
        self.log = log
        let command = launcher + ["/usr/bin/nsenter", "--net=/run/netns/\(namespace)"] + wrapper
            + [try LBDBinary.path, "--config", config] + arguments
        process = try startLogged(command, log: log,
                                  environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
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
        try await waitFor("lbd exiting:\n\(output)", within: timeout) { !process.isRunning }
        return process.terminationStatus
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }
}
