import ArgumentParser
import Balancer
import HealthCheck
import LBDAPI

/// `lbctl backend add|remove|set|drain|undrain`.
struct BackendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backend", abstract: "Add, remove, weigh and drain the backends of a VIP.",
        subcommands: [Add.self, Remove.self, SetWeight.self, Drain.self, Undrain.self])

    /// The backend a command is about: its VIP and address, in that order.
    struct Target: ParsableArguments {
        @Argument(help: ArgumentHelp("The VIP, address:port/proto.", valueName: "vip"))
        var vip: String

        @Argument(help: ArgumentHelp("The backend's IP address.", valueName: "address"))
        var address: String

        func parsed() throws(Failure) -> (VIPKey, IPAddress) {
            (try ArgumentValues.vip(vip), try ArgumentValues.address(address))
        }
    }

    /// drain / undrain's backend: `[VIP] ADDRESS`, every VIP that has it when the VIP is left out.
    struct ScopedTarget: ParsableArguments {
        @Argument(help: ArgumentHelp("The VIP, address:port/proto; left out: every VIP that has the backend.",
                                     valueName: "vip"))
        var first: String

        @Argument(help: ArgumentHelp("The backend's IP address.", valueName: "address"))
        var second: String?

        /// A lone VIP is a forgotten address, reported as ArgumentParser would for `command`.
        func parsed(command: String) throws(Failure) -> (vip: VIPKey?, address: IPAddress) {
            guard let second else {
                if (try? ArgumentValues.vip(first)) != nil {
                    throw .usage("missing expected argument '<address>' (see 'lbctl backend \(command) --help')")
                }
                return (nil, try ArgumentValues.address(first))
            }
            return (try ArgumentValues.vip(first), try ArgumentValues.address(second))
        }

        /// `in 10.0.0.10:80/tcp`, or `in every VIP that has it`.
        static func scope(_ vip: VIPKey?) -> String {
            vip.map { "in \($0)" } ?? "in every VIP that has it"
        }
    }

    /// The weight range, as the help shows it. `--weight` reads its value unconditionally
    /// so that `--weight -1` is reported as out of range, not as a missing value.
    static let weightRange = "\(BackendSpec.weightRange.lowerBound)...\(BackendSpec.weightRange.upperBound)"

    struct Add: DaemonCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Add a backend to a VIP.",
            discussion: """
                A backend the VIP has exactly so already (a retry) is left unchanged, exit 0; one \
                with another weight, or drained, is refused (see backend set, undrain).
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var target: Target
        @OptionGroup var output: OutputOptions

        @Option(parsing: .unconditional,
                help: ArgumentHelp("Relative share of new flows, \(weightRange) (default \(BackendSpec.defaultWeight)).",
                                   valueName: "n"))
        var weight: Int?

        @Option(name: .customLong("quic-server-id"), parsing: .unconditional,
                help: ArgumentHelp("QUIC VIPs: the server id the backend writes into its connection IDs, unique in "
                                   + "the VIP.", valueName: "n"))
        var quicServerID: Int?

        func execute(in session: Session) throws(Failure) {
            let (vip, address) = try target.parsed()
            let weight = weight ?? BackendSpec.defaultWeight
            try ArgumentValues.checkBackend(address, weight: weight, of: vip)
            try session.edit(EditRequest(op: .addBackend, vip: vip.description, address: address.description,
                                         weight: self.weight, quicServerID: quicServerID), output: output,
                             done: "added backend \(address) to \(vip)",
                             unchanged: "\(vip) already has backend \(address) with weight \(weight)")
        }
    }

    struct Remove: DaemonCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove", abstract: "Remove a backend from a VIP; its flows move to the others.",
            discussion: """
                To let its connections finish first, drain it and wait. A backend the VIP does \
                not have is refused (exit 1): a mistyped address must not look removed.
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var target: Target
        @OptionGroup var output: OutputOptions

        func execute(in session: Session) throws(Failure) {
            let (vip, address) = try target.parsed()
            try session.edit(EditRequest(op: .removeBackend, vip: vip.description, address: address.description),
                             output: output,
                             done: "removed backend \(address) from \(vip)", unchanged: "\(vip) has no backend \(address)")
        }
    }

    struct SetWeight: DaemonCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Change a backend's weight.")

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var target: Target
        @OptionGroup var output: OutputOptions

        @Option(parsing: .unconditional,
                help: ArgumentHelp("Relative share of new flows, \(weightRange); 0 takes none.", valueName: "n"))
        var weight: Int

        func execute(in session: Session) throws(Failure) {
            let (vip, address) = try target.parsed()
            try ArgumentValues.checkBackend(address, weight: weight, of: vip)
            try session.edit(EditRequest(op: .setWeight, vip: vip.description, address: address.description,
                                         weight: weight), output: output,
                             done: "set the weight of \(address) in \(vip) to \(weight)",
                             unchanged: "\(address) in \(vip) already has weight \(weight)")
        }
    }

    struct Drain: DaemonCommand {
        static let configuration = CommandConfiguration(
            commandName: "drain", abstract: "Send a backend no new flows; its established flows continue.",
            usage: "lbctl backend drain [<vip>] <address> [--wait [--timeout <duration>]] [--socket <path>] [--json]",
            discussion: """
                Without a VIP, in every VIP that has the backend (a host going into \
                maintenance). With --wait (a VIP needed), returns once the backend has no \
                active flow in the VIP (a flow ends with the client's FIN or RST, or its idle \
                timeout, tcp_idle_timeout), printing how long that took; after --timeout it \
                exits 7, printing how many are left.
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var target: ScopedTarget
        @OptionGroup var output: OutputOptions

        @Flag(help: "Wait until the backend has no active flow in the VIP.")
        var wait = false

        @Option(help: ArgumentHelp("How long --wait waits (default \(DurationText.format(DrainWait.defaultTimeout))).",
                                   valueName: "duration"))
        var timeout: String?

        func execute(in session: Session) throws(Failure) {
            let (vip, address) = try target.parsed(command: "drain")
            if timeout != nil && !wait { throw .usage("--timeout needs --wait") }
            let waitTimeout = try timeout.map { text throws(Failure) in try DrainWait.timeout(text) } ?? DrainWait.defaultTimeout
            if wait && vip == nil { throw .usage("--wait needs a VIP: the drain is waited for in one VIP") }
            let scope = ScopedTarget.scope(vip)
            try session.edit(EditRequest(op: .drain, vip: vip?.description, address: address.description),
                             output: output,
                             done: "drained \(address) \(scope)", unchanged: "\(address) is already drained \(scope)")
            if wait, let vip {
                session.print(try DrainWait(vip: vip, address: address, timeout: waitTimeout).run(in: session))
            }
        }
    }

    struct Undrain: DaemonCommand {
        static let configuration = CommandConfiguration(
            commandName: "undrain", abstract: "Send a drained backend new flows again.",
            usage: "lbctl backend undrain [<vip>] <address> [--socket <path>] [--json]",
            discussion: "Without a VIP, in every VIP that has the backend.")

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var target: ScopedTarget
        @OptionGroup var output: OutputOptions

        func execute(in session: Session) throws(Failure) {
            let (vip, address) = try target.parsed(command: "undrain")
            let scope = ScopedTarget.scope(vip)
            try session.edit(EditRequest(op: .undrain, vip: vip?.description, address: address.description),
                             output: output,
                             done: "undrained \(address) \(scope)", unchanged: "\(address) is not drained \(scope)")
        }
    }
}
