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
        if let refusal = seedRefusal(configuration) {
            FileHandle.standardError.write(Data("\(options.config): \(refusal)\n".utf8))
            throw ExitCode.failure
        }
        if let warning = stateWarning(configuration) {
            FileHandle.standardError.write(Data("\(options.config): warning: \(warning)\n".utf8))
        }
        print("\(options.config): ok")
    }

    /// Why a first start on this host would refuse the file's services; nil when a state
    /// file exists (the services are not used) or nothing clashes.
    private func seedRefusal(_ configuration: Configuration) -> String? {
        let store = StateStore(directory: configuration.stateDirectory)
        do {
            guard try store.peek(limits: configuration.limits) == nil else { return nil }
        } catch {
            return nil
        }
        return SeedServices.refusal(configuration)
    }

    /// The saved state against the file; nothing to say on a first start.
    private func stateWarning(_ configuration: Configuration) -> String? {
        let store = StateStore(directory: configuration.stateDirectory)
        do {
            guard let saved = try store.peek(limits: configuration.limits) else { return nil }
            return SeedServices.drift(configuration, saved: saved, statePath: store.path)
        } catch {
            return error.description
        }
    }
}
