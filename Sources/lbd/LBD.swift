import ArgumentParser
import BuildInfo

/// `lbd`: the load balancer daemon. Without a subcommand it runs (`lbd --config FILE`,
/// what the systemd unit starts); `lbd check` validates a configuration, `lbd prepare`
/// mounts bpffs when missing (the unit's ExecStartPre), `lbd reload` asks the running lbd
/// to reload (its ExecReload).
@main
struct LBD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lbd",
        abstract: "XDP L4 load balancer daemon.",
        version: BuildInfo.versionLine(of: "lbd"),
        subcommands: [Run.self, Check.self, Prepare.self, Reload.self, SandboxPaths.self],
        defaultSubcommand: Run.self)
}
