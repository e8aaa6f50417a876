import LBDAPI

/// `lbctl vip list`: the desired services, one row each.
///
///     VIP                     HASH    UDP TIMEOUT  BACKENDS  DRAINED
///     10.0.0.10:80/tcp        5tuple  -                   3        1
///     [2001:db8::10]:53/udp   source  30s                 1        0
enum VIPListView {
    static func render(_ services: ServicesResponse) -> String {
        guard !services.services.isEmpty else { return "no VIPs" }
        return TextTable(columns: [
            .init("VIP"), .init("HASH"), .init("UDP TIMEOUT"), .init("BACKENDS", .right), .init("DRAINED", .right),
        ], rows: services.services.map { service in
            [service.vip, service.hash, service.udpIdleTimeout ?? "-", "\(service.backends.count)",
             "\(service.backends.count(where: \.drained))"]
        }).lines.joined(separator: "\n")
    }
}
