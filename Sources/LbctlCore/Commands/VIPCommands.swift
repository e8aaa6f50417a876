import ArgumentParser
import Balancer
import LBDAPI

/// `lbctl vip add|remove|list`.
struct VIPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vip", abstract: "Add, remove and list VIPs.",
        subcommands: [Add.self, Remove.self, List.self])

    struct Add: DaemonCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Add a VIP, without backends.",
            discussion: """
                Port 0 takes every port of the address; a VIP with the exact port wins over it. \
                A VIP that exists exactly so already (a retry) is left unchanged, exit 0; one \
                with other settings or backends is refused.
                """)

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        @Argument(help: ArgumentHelp("address:port/proto, e.g. 10.0.0.10:80/tcp or '[2001:db8::10]:443/tcp'.",
                                     valueName: "vip"))
        var vip: String

        @Option(help: ArgumentHelp("What picks a new flow's backend: 5tuple (each connection on its own; lbd's "
                                   + "default) or source (every connection of a client to one backend).",
                                   valueName: "5tuple|source"),
                completion: .list(HashMode.allCases.map(\.rawValue)))
        var hash: String?

        @Option(name: .customLong("udp-idle-timeout"),
                help: ArgumentHelp("UDP VIPs: how long a flow keeps its backend without packets, e.g. 30s "
                                   + "(default: lbd's udp_idle_timeout).", valueName: "duration"))
        var udpIdleTimeout: String?

        @Flag(help: ArgumentHelp("Accept an address of lbd's own host: the VIP then takes the host's own traffic "
                                 + "to its port (every port for port 0, SSH and BGP included)."))
        var force = false

        @Flag(help: ArgumentHelp("UDP VIPs: route QUIC short headers by the server id in their connection ID, so a "
                                 + "client that changes address or port keeps its backend (quic: true)."))
        var quic = false

        @Option(name: .customLong("quic-server-id-length"),
                help: ArgumentHelp("With --quic: octets of the server id, 1...4 (default 2).", valueName: "n"))
        var quicServerIDLength: Int?

        @Option(name: .customLong("quic-connection-id-length"),
                help: ArgumentHelp("With --quic: length of the backends' connection IDs (default 8).", valueName: "n"))
        var quicConnectionIDLength: Int?

        func execute(in session: Session) throws(Failure) {
            let vip = try ArgumentValues.vip(vip)
            let hash = try hash.map { text throws(Failure) in try ArgumentValues.hash(text) }
            let quic = try ArgumentValues.quic(quic, serverIDLength: quicServerIDLength,
                                               connectionIDLength: quicConnectionIDLength)
            try ArgumentValues.checkNewService(vip, udpIdleTimeout: udpIdleTimeout, quic: quic)
            try session.edit(EditRequest(op: .addVIP, vip: vip.description, hash: hash?.rawValue, udpIdleTimeout: udpIdleTimeout,
                                         force: force ? true : nil, quic: quic.map { _ in true },
                                         quicServerIDLength: quicServerIDLength, quicConnectionIDLength: quicConnectionIDLength),
                             output: output, done: "added VIP \(vip)", unchanged: "VIP \(vip) already exists so")
        }
    }

    struct Remove: DaemonCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove", abstract: "Remove a VIP and its backends; its flows are dropped.",
            discussion: "A VIP lbd does not have is refused (exit 1): a mistyped VIP must not look removed.")

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        @Argument(help: ArgumentHelp("address:port/proto.", valueName: "vip"))
        var vip: String

        func execute(in session: Session) throws(Failure) {
            let vip = try ArgumentValues.vip(vip)
            try session.edit(EditRequest(op: .removeVIP, vip: vip.description), output: output, done: "removed VIP \(vip)",
                             unchanged: "no VIP \(vip)")
        }
    }

    struct List: DaemonCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List the VIPs lbd is told to serve (see status for what it does).")

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func execute(in session: Session) throws(Failure) {
            let (services, body) = try session.answer(ServicesResponse.self, to: LBDClient.servicesRequest())
            if output.json {
                session.printJSON(body)
            } else {
                session.print(VIPListView.render(services))
            }
        }
    }
}
