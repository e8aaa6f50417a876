import ArgumentParser
import Balancer
import Daemon
import Foundation

/// `lbd check --config FILE`: validates the configuration without touching the datapath,
/// the state or the network. Every error goes to stderr as `FILE:LINE:COL: message`
/// (editors and CI logs link them); exit 1 when there is any, `FILE: ok` and 0 otherwise.
/// What the file says but a running lbd will not do — seed `services:` that differ from
/// the saved state, a state file that does not load — goes to stderr as a warning; seed
/// services on this host's own addresses, which a first start refuses, are an error.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a configuration file and print every error with its position.")

    @OptionGroup var options: ConfigOption

    func run() throws {
        let configuration = try options.load()
        let store = StateStore(directory: configuration.stateDirectory)
        let saved = Result { () throws(StateStoreError) in try store.peek(limits: configuration.limits) }
        // The file's services seed a first start only: without a state file.
        if case .success(nil) = saved, let refusal = SeedServices.refusal(configuration) {
            FileHandle.standardError.write(Data("\(options.config): \(refusal)\n".utf8))
            throw ExitCode.failure
        }
        if let warning = stateWarning(configuration, saved: saved, statePath: store.path) {
            FileHandle.standardError.write(Data("\(options.config): warning: \(warning)\n".utf8))
        }
        print("\(options.config): ok")
    }

    /// The saved state against the file; nothing to say on a first start.
    private func stateWarning(_ configuration: Configuration, saved: Result<DesiredState?, StateStoreError>,
                              statePath: String) -> String? {
        switch saved {
        case .success(let state?): SeedServices.drift(configuration, saved: state, statePath: statePath)
        case .success(nil): nil
        case .failure(let error): error.description
        }
    }
}
