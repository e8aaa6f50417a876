import CLBABI

/// The writes of `quic_servers`, the reconciler's through the daemon's writer.
extension BalancerDatapath {
    /// `quic_servers` entries of VIP index `vipIndex` := exactly `servers` (server id →
    /// entry): each one that differs written, then the index's others deleted, so a
    /// packet never finds an id without a backend that was meant to have one.
    public func writeQUICServers(vipIndex: UInt32, servers: [UInt32: lb_quic_server]) throws {
        for (id, server) in servers.sorted(by: { $0.key < $1.key }) {
            let key = lb_quic_server_key(vip: vipIndex, server_id: id)
            if let current = try quicServers.lookup(key: key), Self.same(current, server) { continue }
            try quicServers.update(key: key, value: server)
        }
        for key in try quicServers.keys() where key.vip == vipIndex && servers[key.server_id] == nil {
            try quicServers.delete(key: key)
        }
    }

    /// The index's `quic_servers` entries, by server id.
    public func quicServers(vipIndex: UInt32) throws -> [UInt32: lb_quic_server] {
        var servers: [UInt32: lb_quic_server] = [:]
        try quicServers.forEachEntry { key, server in
            if key.vip == vipIndex { servers[key.server_id] = server }
        }
        return servers
    }

    private static func same(_ a: lb_quic_server, _ b: lb_quic_server) -> Bool {
        a.backend == b.backend && a.vip_generation == b.vip_generation && a.backend_generation == b.backend_generation
    }
}
