import ArgumentParser
import LBDAPI

/// `lbctl node drain|undrain`: this LB node's BGP announcements (lbd's `announce:`).
struct NodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Drain this LB node (withdraw its routes for maintenance) or undrain it.",
        subcommands: [Drain.self, Undrain.self])

    struct Drain: DaemonCommand {
        static let configuration = CommandConfiguration(
            commandName: "drain", abstract: "Move traffic away from this node; forwarding continues.",
            discussion: """
                lbd tags its routes with the GRACEFUL_SHUTDOWN community (announce.graceful_shutdown) \
                for announce.drain_time, then withdraws them; the routers move flows to the other \
                nodes, which take them to the same backends. The node stays drained across lbd \
                restarts until 'lbctl node undrain'. Refused when lbd announces nothing (no announce:).
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func execute(in session: Session) throws(Failure) {
            try NodeCommand.report(drain: true, output: output, in: session)
        }
    }

    struct Undrain: DaemonCommand {
        static let configuration = CommandConfiguration(
            commandName: "undrain", abstract: "Announce again every VIP this node can serve.")

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func execute(in session: Session) throws(Failure) {
            try NodeCommand.report(drain: false, output: output, in: session)
        }
    }

    /// Drains or undrains the node and prints `node <state>`, or lbd's answer with `--json`.
    fileprivate static func report(drain: Bool, output: OutputOptions, in session: Session) throws(Failure) {
        let (response, body) = try session.answer(NodeResponse.self, to: LBDClient.nodeRequest(drain: drain))
        if output.json {
            session.printJSON(body)
        } else {
            session.print("node \(response.node)")
        }
    }
}
