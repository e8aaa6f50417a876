import Balancer

/// The file lbd writes for BIRD: two static protocols, `lbd_vips4` and `lbd_vips6`,
/// holding one route per announced VIP address, with the configured BGP attributes.
/// The node's bird.conf includes it and exports these protocols to its BGP peers with
/// `next hop self`; the routes are `blackhole` so that, exported to the node's own
/// kernel by mistake, they could never carry traffic anywhere.
public enum BirdRoutes {
    public static let protocolV4 = "lbd_vips4"
    public static let protocolV6 = "lbd_vips6"

    /// The file's text; `tagged` adds the GRACEFUL_SHUTDOWN community to every route.
    public static func render(_ announced: [IPAddress], settings: AnnounceSettings, tagged: Bool) -> String {
        let attributes = self.attributes(settings, tagged: tagged)
        func block(_ name: String, _ channel: String, _ family: IPAddress.Family, length: Int) -> String {
            let routes = announced.filter { $0.family == family }.sorted()
                .map { "    route \($0)/\(length) blackhole\(attributes);\n" }
            return "protocol static \(name) {\n    \(channel);\n" + routes.joined() + "}\n"
        }
        return "# Written by lbd (announce: in lbd.yaml): the VIPs this node can serve. lbd rewrites it.\n"
            + block(protocolV4, "ipv4", .v4, length: 32) + block(protocolV6, "ipv6", .v6, length: 128)
    }

    private static func attributes(_ settings: AnnounceSettings, tagged: Bool) -> String {
        var statements: [String] = []
        if let med = settings.med { statements.append("bgp_med = \(med);") }
        if let preference = settings.localPreference { statements.append("bgp_local_pref = \(preference);") }
        let communities = settings.communities + (tagged ? [.gracefulShutdown] : [])
        statements += communities.map { "bgp_community.add((\($0.asn), \($0.value)));" }
        return statements.isEmpty ? "" : " { " + statements.joined(separator: " ") + " }"
    }
}
