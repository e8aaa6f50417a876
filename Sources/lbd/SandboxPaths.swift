import ArgumentParser
import Balancer
import Foundation

/// `lbd sandbox-paths --config FILE`: the drop-in that lets the unit's sandbox write where
/// FILE has lbd write — `state_dir`, `api_socket`'s directory, `bpf_pin_dir` — when they
/// are not the unit's defaults. systemd cannot read lbd.yaml; systemd/lbd-generator runs
/// this at every boot and `systemctl daemon-reload`, writing the output as a drop-in.
struct SandboxPaths: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox-paths",
        abstract: "Print the unit drop-in that makes the configured paths writable (for systemd/lbd-generator).")

    @OptionGroup var options: ConfigOption

    func run() throws {
        let configuration = try options.load()
        let socketDirectory = URL(fileURLWithPath: configuration.apiSocket).deletingLastPathComponent().path
        // "-": a path that does not exist yet is no error (lbd prepare creates them first).
        let paths = [configuration.stateDirectory, socketDirectory, configuration.bpfPinDirectory]
            .map { "\"-" + Self.escaped($0) + "\"" }
        print("""
            # Written by lbd-generator from \(options.config): where lbd writes.
            [Service]
            ReadWritePaths=\(paths.joined(separator: " "))
            """)
    }

    /// A path inside a double-quoted unit-file word: quotes, backslashes and systemd's
    /// specifiers (%) escaped.
    static func escaped(_ path: String) -> String {
        path.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "%", with: "%%")
    }
}
