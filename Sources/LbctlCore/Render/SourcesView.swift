import LBDAPI

/// `lbctl top sources`: the client prefixes opening the most new flows, one row each.
///
///     new flows over 1s; 3 of 16384 source prefixes tracked
///     VIP               PREFIX           NEW/1S  TOTAL  REFUSED  LAST
///     10.0.0.10:80/tcp  198.51.100.0/24      40    950        0  0s
enum SourcesView {
    static func render(_ response: SourcesResponse) -> String {
        let interval = response.seconds > 0
        let header = (interval ? "new flows over \(response.seconds)s" : "new flows since each prefix was first tracked")
            + "; \(response.tracked) of \(response.capacity) source prefixes tracked"
        guard !response.sources.isEmpty else {
            return header + "\n" + (interval ? "no new flows" : "no sources")
        }
        var columns: [TextTable.Column] = [.init("VIP"), .init("PREFIX")]
        if interval { columns.append(.init("NEW/\(response.seconds)S", .right)) }
        columns += [.init("TOTAL", .right), .init("REFUSED", .right), .init("LAST", .right)]
        let rows = response.sources.map { source in
            [source.vip, source.prefix] + (interval ? ["\(source.intervalNewFlows ?? 0)"] : [])
                + ["\(source.newFlows)", "\(source.refused)", Quantities.age(seconds: source.lastSeenAgeSeconds)]
        }
        return ([header] + TextTable(columns: columns, rows: rows).lines).joined(separator: "\n")
    }
}
