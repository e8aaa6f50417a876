import ArgumentParser
import Balancer
import Daemon
import Foundation

/// `--config FILE` of the subcommands that read the configuration (check, prepare,
/// reload, sandbox-paths), and how they read it.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The configuration file.")
    var config: String = "/etc/lbd/lbd.yaml"

    /// The configuration; else its errors on stderr, after `heading` if given, and exit 1.
    func load(heading: String? = nil) throws -> Configuration {
        do {
            return try ConfigurationFile.load(config)
        } catch {
            let text = (heading.map { $0 + "\n" } ?? "") + error.description + "\n"
            FileHandle.standardError.write(Data(text.utf8))
            throw ExitCode.failure
        }
    }
}
