import ArgumentParser
import BuildInfo

/// `lbd`: the load balancer daemon. Without a subcommand it runs (`lbd --config FILE`,
/// what the systemd unit starts); `lbd check --config FILE` validates a configuration.
@main
struct LBD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lbd",
        abstract: "XDP L4 load balancer daemon.",
        version: BuildInfo.versionLine(of: "lbd"),
        subcommands: [Run.self, Check.self],
        defaultSubcommand: Run.self)
}
