import ArgumentParser
import Balancer
import Daemon
import Foundation
import Logging

/// `lbd prepare --config FILE`: what lbd does first at a start and the unit runs before it
/// with full privileges (`ExecStartPre=+`): mounts bpffs at /sys/fs/bpf when the pin
/// directory is under it and none is mounted there, and creates the pin directory, the
/// state directory and the API socket's directory — the unit's sandbox can make only
/// existing paths writable, and lbd itself runs with mount(2) filtered out.
/// `--pin-dir DIR` prepares only the pin directory DIR (scripts/lbd-topology, for its
/// decapsulators).
struct Prepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mount bpffs if missing and create the pin directory (the unit's ExecStartPre).")

    @OptionGroup var options: ConfigOption

    @Option(name: .long, help: "Prepare this pin directory instead of the configuration's.")
    var pinDir: String?

    func run() throws {
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: .info, format: .keyvalue) }
        let logger = Logger(label: "lbd")
        let pins: String
        if let pinDir {
            pins = pinDir
        } else {
            let configuration = try options.load()
            pins = configuration.bpfPinDirectory
            let socketDirectory = URL(fileURLWithPath: configuration.apiSocket).deletingLastPathComponent().path
            for (directory, mode) in [(configuration.stateDirectory, 0o700), (socketDirectory, 0o755)] {
                do {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                            attributes: [.posixPermissions: mode])
                } catch {
                    logger.critical("cannot create \(directory)", metadata: ["error": "\(error)"])
                    throw ExitCode.failure
                }
            }
        }
        do {
            try DatapathBootstrap.preparePinDirectory(pins, logger: logger)
        } catch {
            logger.critical("cannot prepare the pin directory", metadata: ["pin_dir": "\(pins)", "error": "\(error)"])
            throw ExitCode.failure
        }
    }
}
