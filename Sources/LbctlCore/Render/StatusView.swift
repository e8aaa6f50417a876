import LBDAPI

/// `lbctl status`: the datapath line, then one row per VIP, each followed by its
/// backends. Backend columns are aligned across all VIPs, so the tables read as one.
///
///     datapath: native XDP on eth0, adopted from pinned maps
///     connections: 734003 of 1048576 table entries (70.0%)     (~734003: estimated)
///     announce: node active, BIRD has the routes
///       ROUTE           STATE      SERVABLE  WHY
///       10.0.0.10/32    announced  yes       serving: min_up backends up
///
///     VIP               HASH    BACKENDS  UP  MIN UP  STATE     PACKETS    BYTES
///     10.0.0.10:80/tcp  5tuple         2   1       2  degraded     1500  1.4 KiB
///       ADDRESS     WEIGHT  HEALTH  FOR  DRAINED   SHARE  PACKETS    BYTES  LAST CHECK
///       192.0.2.11     100  up      3h   no       100.0%     1000  1000 B   status 200 (1.2 ms)
///       192.0.2.12     100  down    12m  no         0.0%      500    500 B  connection refused (0.3 ms)
enum StatusView {
    static let indent = "  "

    static func render(_ status: StatusResponse) -> String {
        var lines = [datapathLine(status.datapath)]
        if let table = status.connectionTable { lines.append(connectionsLine(table)) }
        lines += (status.announce.map(announceLines) ?? []) + [""]
        guard !status.services.isEmpty else { return (lines + ["no VIPs"]).joined(separator: "\n") }
        let vipLines = TextTable(columns: [
            .init("VIP"), .init("HASH"), .init("BACKENDS", .right), .init("UP", .right), .init("MIN UP", .right),
            .init("STATE"), .init("PACKETS", .right), .init("BYTES", .right),
        ], rows: status.services.map { service in
            [service.vip, service.hash, "\(service.backends.count)", "\(service.backendsUp)", "\(service.minUp)",
             service.state, "\(service.packets)", Quantities.bytes(service.bytes)]
        }).lines
        let backendLines = TextTable(columns: [
            .init("ADDRESS"), .init("WEIGHT", .right), .init("HEALTH"), .init("FOR", .right), .init("DRAINED"),
            .init("SHARE", .right), .init("PACKETS", .right), .init("BYTES", .right), .init("LAST CHECK"),
        ], rows: status.services.flatMap(\.backends).map { backend in
            [backend.address, "\(backend.weight)", backend.health, backend.healthAgeSeconds.map(Quantities.age) ?? "-",
             backend.drained ? "yes" : "no", Quantities.percent(backend.ringShare), "\(backend.packets)",
             Quantities.bytes(backend.bytes), lastCheck(backend)]
        }).lines
        lines.append(vipLines[0])
        var nextBackend = 1
        for (index, service) in status.services.enumerated() {
            if index > 0 { lines.append("") }
            lines.append(vipLines[index + 1])
            guard !service.backends.isEmpty else { continue }
            let rows = backendLines[nextBackend..<nextBackend + service.backends.count]
            lines += ([backendLines[0]] + rows).map { indent + $0 }
            nextBackend += service.backends.count
        }
        return lines.joined(separator: "\n")
    }

    /// "status 200 (1.2 ms)"; "-" for a backend without checks.
    static func lastCheck(_ backend: StatusResponse.Backend) -> String {
        guard let result = backend.lastCheck else { return "-" }
        return backend.latencyMS.map { "\(result) (\(Quantities.milliseconds($0)))" } ?? result
    }

    /// The node's announcement state, then one row per route with why.
    static func announceLines(_ announce: StatusResponse.Announce) -> [String] {
        let bird = announce.birdError.map { "BIRD does not have the routes: \($0)" } ?? "BIRD has the routes"
        guard !announce.routes.isEmpty else { return ["announce: node \(announce.node), \(bird)"] }
        let table = TextTable(columns: [.init("ROUTE"), .init("STATE"), .init("SERVABLE"), .init("WHY")],
                              rows: announce.routes.map { route in
            [route.prefix, route.announced ? "announced" : "withdrawn", route.servable ? "yes" : "no", route.reason]
        }).lines
        return ["announce: node \(announce.node), \(bird)"] + table.map { indent + $0 }
    }

    static func connectionsLine(_ table: StatusResponse.ConnectionTable) -> String {
        "connections: \(table.exact ? "" : "~")\(table.entries) of \(table.capacity) table entries (\(Quantities.percent(table.utilization)))"
    }

    static func datapathLine(_ datapath: StatusResponse.Datapath) -> String {
        let attachment = datapath.attached.map { "\($0) XDP on \(datapath.interface)" }
            ?? "not attached (interface \(datapath.interface))"
        return "datapath: " + attachment + (datapath.adopted ? ", adopted from pinned maps" : "")
    }
}
