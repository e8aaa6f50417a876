import ArgumentParser
import LBDAPI

/// `lbctl top sources`.
struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top", abstract: "Show who loads the balancer now.", subcommands: [Sources.self])

    struct Sources: DaemonCommand {
        static let configuration = CommandConfiguration(
            commandName: "sources",
            abstract: "Show the client prefixes opening the most new flows.",
            discussion: """
                While lbd counts, the datapath counts every new flow per VIP and client prefix \
                (per /24 and /64 unless lbd's flood.source_prefix_v4/v6 say otherwise) in a \
                table of 16384 prefixes; a prefix idle while others fill it is forgotten and \
                counts again from zero, so counts are lower bounds. lbd counts during each \
                --seconds window, and always while flood.per_source_new_flows is set. NEW is \
                the flows opened during the window; TOTAL since the prefix was first counted, \
                over every time counting was on; REFUSED the flows flood.per_source_new_flows \
                dropped.
                """)

        @OptionGroup var connection: ConnectionOptions

        @Argument(help: ArgumentHelp("Only this VIP's sources (address:port/proto).", valueName: "vip"))
        var vip: String?

        @Option(name: .customLong("prefix"),
                help: ArgumentHelp("Group sources into shorter prefixes: /1 to /32 groups IPv4 clients, /33 to "
                                   + "/128 IPv6 ones; give it twice for both.", valueName: "/length"))
        var prefixes: [String] = []

        @Option(help: ArgumentHelp("Count the new flows opened during this many seconds (0 to 10; 0: rank by "
                                   + "the totals counted so far, without counting, and answer at once).",
                                   valueName: "seconds"))
        var seconds = 1

        @Option(help: ArgumentHelp("Show at most this many prefixes (1 to 1000).", valueName: "count"))
        var limit = 20

        @Flag(help: "Print lbd's JSON (GET /v1/sources), keys sorted.")
        var json = false

        func execute(in session: Session) throws(Failure) {
            let seconds = try ArgumentValues.inRange(seconds, "--seconds", 0...10)
            let limit = try ArgumentValues.inRange(limit, "--limit", 1...1000)
            let vip = try vip.map { text throws(Failure) in try ArgumentValues.vip(text).description }
            let (prefixV4, prefixV6) = try Self.prefixLengths(prefixes)
            let request = LBDClient.sourcesRequest(seconds: seconds, limit: limit, vip: vip, prefixV4: prefixV4, prefixV6: prefixV6)
            let (response, body) = try session.answer(SourcesResponse.self, to: request)
            if json {
                session.printJSON(body)
            } else {
                session.print(SourcesView.render(response))
            }
        }

        /// The IPv4 and IPv6 prefix lengths of `/N` values, at most one per family.
        static func prefixLengths(_ values: [String]) throws(Failure) -> (v4: Int?, v6: Int?) {
            var lengths: (v4: Int?, v6: Int?) = (nil, nil)
            for value in values {
                let digits = value.hasPrefix("/") ? value.dropFirst() : Substring(value)
                guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let length = Int(digits), (1...128).contains(length) else {
                    throw .usage("bad prefix length '\(value)': expected /1 to /128")
                }
                let isV4 = length <= 32
                guard (isV4 ? lengths.v4 : lengths.v6) == nil else {
                    throw .usage("--prefix given twice for IPv\(isV4 ? 4 : 6): /1 to /32 is IPv4, /33 to /128 IPv6")
                }
                if isV4 { lengths.v4 = length } else { lengths.v6 = length }
            }
            return lengths
        }
    }
}
