import ArgumentParser
import Daemon
import Foundation

/// `lbd check --config FILE`: validates the configuration without touching the datapath,
/// the state or the network. Every error goes to stderr as `FILE:LINE:COL: message`
/// (editors and CI logs link them); exit 1 when there is any, `FILE: ok` and 0 otherwise.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a configuration file and print every error with its position.")

    @Option(name: .long, help: "The configuration file.")
    var config: String = "/etc/lbd/lbd.yaml"

    func run() throws {
        do {
            _ = try ConfigurationFile.load(config)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode.failure
        }
        print("\(config): ok")
    }
}
