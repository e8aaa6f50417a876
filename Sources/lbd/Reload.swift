import ArgumentParser
import Daemon
import Foundation
import LbctlCore

/// `lbd reload --config FILE`: the unit's ExecReload. Asks the lbd serving FILE's
/// api_socket to reload (`lbctl reload`) and waits for the outcome, so that a reload lbd
/// refuses fails `systemctl reload` with lbd's reason instead of only reaching the log.
struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the running lbd reload its configuration; exit 1 with the reason if it refuses.")

    @Option(name: .long, help: "The configuration file (its api_socket reaches the running lbd).")
    var config: String = "/etc/lbd/lbd.yaml"

    func run() throws {
        let socket: String
        do {
            socket = try ConfigurationFile.load(config).apiSocket
        } catch {
            FileHandle.standardError.write(Data(("reload refused: the configuration has errors; nothing changed\n"
                + error.description + "\n").utf8))
            throw ExitCode.failure
        }
        let result = Lbctl.run(["reload", "--socket", socket], environment: [:])
        FileHandle.standardOutput.write(Data(result.standardOutput.utf8))
        FileHandle.standardError.write(Data(result.standardError.utf8))
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }
}
