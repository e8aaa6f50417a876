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
            '[2001:db8::10]:443/tcp'. Output is text; --json (every command but \
            export) prints lbd's JSON answer with sorted keys, for scripts. An edit \
            that finds the state already so (a retry after a timeout) prints \
            'unchanged: ...' and succeeds; one that conflicts with it is refused.

            Exit codes (the reason goes to standard error as 'lbctl: <reason>'):
              0  success, or nothing to change
              1  refused: lbd refused the request (bad input, no such VIP or backend,
                 exists with other settings), or its answer could not be read
              2  usage error: bad arguments, nothing was sent;
                 apply --dry-run --exit-code: the plan has changes
              3  lbd unreachable: no socket, refused, no answer within 10s; the edit
                 may or may not have been made: repeating it is safe
              4  saved, but a datapath write failed: lbd retries it every second and
                 the change takes effect then; no need to repeat it
              5  apply: the services changed since the plan was made; nothing applied
              6  apply: not confirmed (no terminal and no --yes, or not answered y);
                 nothing applied
              7  a wait timed out (backend drain --wait): what is left is printed

            Shell completions: lbctl --generate-completion-script bash|zsh|fish
            """,
        version: BuildInfo.versionLine(of: "lbctl"),
        subcommands: [VIPCommand.self, BackendCommand.self, StatusCommand.self, ApplyCommand.self, ExportCommand.self,
                      ReloadCommand.self, NodeCommand.self, TopCommand.self,
                      CaptureCommand.self])

    @OptionGroup var connection: ConnectionOptions
}
