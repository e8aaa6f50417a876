import ArgumentParser
import Foundation
import LbctlCore

/// `lbd reload --config FILE`: the unit's ExecReload. Asks the lbd serving FILE's
/// api_socket to reload (`lbctl reload`) and waits for the outcome, so that a reload lbd
/// refuses fails `systemctl reload` with lbd's reason instead of only reaching the log.
struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the running lbd reload its configuration; exit 1 with the reason if it refuses.")

    /// Its api_socket reaches the running lbd.
    @OptionGroup var options: ConfigOption

    func run() throws {
        let socket = try options.load(heading: "reload refused: the configuration has errors; nothing changed").apiSocket
        let result = Lbctl.run(["reload", "--socket", socket], environment: [:])
        FileHandle.standardOutput.write(Data(result.standardOutput.utf8))
        FileHandle.standardError.write(Data(result.standardError.utf8))
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }
}
