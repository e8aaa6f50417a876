import Balancer
import CLBABI

/// The daemon settings that live in `lb_config` and `flood_config` and that a reload (SIGHUP) applies
/// without a restart; every other key of the configuration takes effect at the next start.
struct RuntimeSettings: Equatable {
    let gateway: MACAddress
    /// Source of every other setting and of the `lb_config` written.
    private let configuration: Configuration

    init(_ configuration: Configuration, gateway: MACAddress) {
        self.gateway = gateway
        self.configuration = configuration
    }

    var mtu: Int { configuration.mtu }
    var encapSourceV4: IPPrefix? { configuration.encapSourceV4 }
    var encapSourceV6: IPPrefix? { configuration.encapSourceV6 }
    var udpIdleTimeout: Duration { configuration.udpIdleTimeout }
    var tcpIdleTimeout: Duration { configuration.tcpIdleTimeout }
    var tcpLinger: Duration { configuration.tcpLinger }
    var flood: FloodSettings { configuration.flood }

    static func == (lhs: RuntimeSettings, rhs: RuntimeSettings) -> Bool {
        lhs.changes(to: rhs).isEmpty
    }

    var lbConfig: lb_config { DatapathSettings.runtimeConfig(configuration, gateway: gateway) }
    var floodConfig: lb_flood_config { DatapathSettings.floodConfig(flood) }

    /// `key old -> new` for each setting that differs.
    func changes(to new: RuntimeSettings) -> [String] {
        func text<T>(_ value: T?) -> String { value.map { "\($0)" } ?? "none" }
        var changes: [String] = []
        if gateway != new.gateway { changes.append("gateway_mac \(gateway) -> \(new.gateway)") }
        if mtu != new.mtu { changes.append("mtu \(mtu) -> \(new.mtu)") }
        if encapSourceV4 != new.encapSourceV4 {
            changes.append("encap_source_v4 \(text(encapSourceV4)) -> \(text(new.encapSourceV4))")
        }
        if encapSourceV6 != new.encapSourceV6 {
            changes.append("encap_source_v6 \(text(encapSourceV6)) -> \(text(new.encapSourceV6))")
        }
        // Timeouts are whole seconds, as validated.
        for (key, old, updated) in [("udp_idle_timeout", udpIdleTimeout, new.udpIdleTimeout),
                                    ("tcp_idle_timeout", tcpIdleTimeout, new.tcpIdleTimeout),
                                    ("tcp_linger", tcpLinger, new.tcpLinger)] where old != updated {
            changes.append("\(key) \(old.components.seconds)s -> \(updated.components.seconds)s")
        }
        let floodKeys: [(String, KeyPath<FloodSettings, Int>)] = [
            ("per_source_new_flows", \.perSourceNewFlows), ("source_prefix_v4", \.sourcePrefixV4),
            ("source_prefix_v6", \.sourcePrefixV6), ("new_flows_per_cpu", \.newFlowsPerCPU),
        ]
        for (key, path) in floodKeys where flood[keyPath: path] != new.flood[keyPath: path] {
            changes.append("flood.\(key) \(flood[keyPath: path]) -> \(new.flood[keyPath: path])")
        }
        return changes
    }

    /// The keys that differ between `old` and `new` but only take effect at a restart.
    static func restartOnlyChanges(from old: Configuration, to new: Configuration) -> [String] {
        var keys: [String] = []
        if old.interface != new.interface { keys.append("interface") }
        if old.xdpMode != new.xdpMode { keys.append("xdp_mode") }
        if old.apiSocket != new.apiSocket { keys.append("api_socket") }
        if old.metricsListen != new.metricsListen { keys.append("metrics_listen") }
        if old.stateDirectory != new.stateDirectory { keys.append("state_dir") }
        if old.bpfPinDirectory != new.bpfPinDirectory { keys.append("bpf_pin_dir") }
        var oldLimits = old.limits, newLimits = new.limits
        oldLimits.backendFamilies = []
        newLimits.backendFamilies = []
        if oldLimits != newLimits { keys.append("limits") }
        if old.announce != new.announce { keys.append("announce") }
        return keys
    }
}
