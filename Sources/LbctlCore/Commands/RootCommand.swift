import ArgumentParser
import Balancer
import BuildInfo

/// `lbctl`: the operator's interface to lbd. Scripts depend on the commands, their
/// arguments, `--json` and the exit codes: change none of them lightly.
struct RootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lbctl",
        abstract: "Operate lbd, the XDP load balancer: VIPs, backends, status, declarative apply.",
        discussion: """
            lbctl talks to lbd over its API socket: --socket, else $LBD_SOCKET, \
            else \(Configuration.defaultAPISocket) (root or group lbd). VIPs are \
            address:port/proto, IPv6 in brackets: 10.0.0.10:80/tcp, \
            '[2001:db8::10]:443/tcp'. Output is a table; --json (vip list, status) \
            prints lbd's JSON with sorted keys, for scripts.

            Exit codes (the reason goes to standard error as 'lbctl: <reason>'):
              0  success; apply --dry-run too, with or without changes
              1  lbd refused the request, or its answer could not be read
              2  usage error: bad arguments, nothing was sent
              3  lbd unreachable: no socket, refused, no answer within 10s

            Shell completions: lbctl --generate-completion-script bash|zsh|fish
            """,
        version: BuildInfo.versionLine(of: "lbctl"),
        subcommands: [VIPCommand.self, BackendCommand.self, StatusCommand.self, ApplyCommand.self, ExportCommand.self,
                      ReloadCommand.self, NodeCommand.self, TopCommand.self,
                      CaptureCommand.self])

    @OptionGroup var connection: ConnectionOptions
}
