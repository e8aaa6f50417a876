import ArgumentParser
import Daemon
import Logging

/// `lbd --config FILE`: runs the daemon in the foreground (what the systemd unit starts).
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon in the foreground.",
        discussion: """
            Stops on SIGTERM or SIGINT, leaving the XDP program attached and its maps pinned: \
            forwarding continues, and the next start adopts them. SIGHUP re-reads the daemon \
            settings (gateway_mac, mtu, encap sources, udp_idle_timeout); `lbd reload` does the same \
            and reports the outcome.
            Exit status 78 means the configuration, the state file or the pinned datapath needs \
            an operator; the unit does not restart on it. A state file that cannot be loaded: \
            start once with --recover-state.
            """)

    @Option(name: .long, help: "The configuration file.")
    var config: String = "/etc/lbd/lbd.yaml"

    @Flag(name: .long, help: ArgumentHelp(
        "Remove the pinned datapath before starting, if it does not match this lbd or its limits.",
        discussion: "Without it such pins make lbd refuse to start. Established connections are re-hashed and counters restart."))
    var resetDatapath = false

    @Flag(name: .long, help: ArgumentHelp(
        "Start from state.json.prev, the state before the last change, if state.json cannot be loaded.",
        discussion: "The damaged file is kept as state.json.corrupt. A state file that loads is used as it is."))
    var recoverState = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Log lines as key=value pairs (keyvalue) or JSON objects (json).")
    var logFormat: LineLogHandler.Format = .keyvalue

    func run() async throws {
        let (level, format) = (logLevel, logFormat)
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: level, format: format) }
        let logger = Logger(label: "lbd")
        do {
            try await LBDaemon(configurationPath: config, resetDatapath: resetDatapath, recoverState: recoverState,
                               logger: logger).run()
        } catch let failure as StartupFailure {
            logger.critical("lbd did not start: \(failure.description)")
            throw ExitCode(failure.exitStatus)
        } catch {
            logger.critical("lbd failed: \(error)")
            throw ExitCode.failure
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension LineLogHandler.Format: ExpressibleByArgument {}
