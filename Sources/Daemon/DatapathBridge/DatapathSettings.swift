import Balancer
import CLBABI
import Datapath

/// The datapath's sizes and runtime settings from the daemon's configuration.
public enum DatapathSettings {
    /// The backends map holds twice `max_backends` (plus the reserved index 0): during a
    /// full replacement old and new indices coexist.
    public static func limits(_ limits: Limits) throws -> DatapathLimits {
        try DatapathLimits(maxVIPs: UInt32(limits.maxVIPs), maxBackends: UInt32(limits.backendMapEntries),
                           ringSize: UInt32(limits.ringSize), connectionTable: UInt32(limits.connectionTable))
    }

    /// `lb_config` with the gateway MAC already resolved (`gateway_mac: auto` is the
    /// daemon's job, from the neighbour table).
    public static func runtimeConfig(_ configuration: Configuration, gateway: MACAddress) -> lb_config {
        var cfg = lb_config()
        withUnsafeMutableBytes(of: &cfg.gateway_mac) { $0.copyBytes(from: gateway.bytes) }
        cfg.mtu = UInt16(configuration.mtu)
        if let v4 = configuration.encapSourceV4 {
            cfg.encap_src_v4 = ABIAddress.words(v4.address.bytes).0
            cfg.encap_src_v4_mask = ABIAddress.words(v4.maskBytes).0
        }
        if let v6 = configuration.encapSourceV6 {
            cfg.encap_src_v6 = ABIAddress.words(v6.address.bytes)
            cfg.encap_src_v6_mask = ABIAddress.words(v6.maskBytes)
        }
        cfg.udp_idle_timeout_s = UInt32(configuration.udpIdleTimeout.components.seconds)
        cfg.tcp_idle_timeout_s = UInt32(configuration.tcpIdleTimeout.components.seconds)
        cfg.tcp_linger_s = UInt32(configuration.tcpLinger.components.seconds)
        return cfg
    }

    /// `lb_flood_config`: the source prefix lengths, the per-source and the per-CPU limits;
    /// counting off (`SourceCounting` turns it on for a sources window).
    public static func floodConfig(_ flood: FloodSettings) -> lb_flood_config {
        lb_flood_config(per_source_new_flows: UInt32(flood.perSourceNewFlows), prefix_v4: UInt8(flood.sourcePrefixV4),
                        prefix_v6: UInt8(flood.sourcePrefixV6), counting: 0,
                        new_flows_per_cpu: UInt32(flood.newFlowsPerCPU))
    }
}
