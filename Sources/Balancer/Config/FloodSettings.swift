import Yams

/// The `flood:` section: how the datapath groups clients into source prefixes (for
/// `lbctl top sources` and the limit), the optional per-prefix new-flow limit, and the
/// per-CPU limit on new connection entries. Applied by a reload, without a restart.
///
/// ```yaml
/// flood:
///   per_source_new_flows: 0       # new flows per second per (VIP, source prefix); 0 = no limit
///   source_prefix_v4: 24          # IPv4 clients are grouped per /24 ...
///   source_prefix_v6: 64          # ... and IPv6 clients per /64
///   new_flows_per_cpu: 125000     # entries a CPU creates per second; above, flows go by the ring; 0 = off
/// ```
public struct FloodSettings: Equatable, Sendable {
    public static let defaultPrefixV4 = 24
    public static let defaultPrefixV6 = 64
    /// Source prefix lengths, also those `GET /v1/sources` can group by.
    public static let sourcePrefixV4Range = 1...32
    public static let sourcePrefixV6Range = 1...128
    /// Above a million a second per prefix the table itself is the limit.
    public static let newFlowsRange = 0...1_000_000
    /// Katran's default: a CPU creating 125k entries a second is under a flood, not busy.
    public static let defaultNewFlowsPerCPU = 125_000
    /// Above ten million a second no CPU reaches the limit: use 0 to turn it off.
    public static let newFlowsPerCPURange = 0...10_000_000

    /// 0: no limit.
    public var perSourceNewFlows = 0
    public var sourcePrefixV4 = defaultPrefixV4
    public var sourcePrefixV6 = defaultPrefixV6
    /// Connection entries one CPU creates per second, SYNs and other new flows each
    /// (bpf/lib/flood.h); 0: no limit.
    public var newFlowsPerCPU = defaultNewFlowsPerCPU

    public init(perSourceNewFlows: Int = 0, sourcePrefixV4: Int = defaultPrefixV4, sourcePrefixV6: Int = defaultPrefixV6,
                newFlowsPerCPU: Int = defaultNewFlowsPerCPU) {
        self.perSourceNewFlows = perSourceNewFlows
        self.sourcePrefixV4 = sourcePrefixV4
        self.sourcePrefixV6 = sourcePrefixV6
        self.newFlowsPerCPU = newFlowsPerCPU
    }
}

/// Reads the configuration's `flood:` section.
enum FloodYAML {
    static let keys = ["per_source_new_flows", "source_prefix_v4", "source_prefix_v6", "new_flows_per_cpu"]

    static func read(_ node: Node, into reader: inout YAMLReader) -> FloodSettings {
        var settings = FloodSettings()
        guard let fields = reader.mapping(node, name: "flood", allowed: keys) else { return settings }
        let numbers: [(String, WritableKeyPath<FloodSettings, Int>, ClosedRange<Int>, String)] = [
            ("per_source_new_flows", \.perSourceNewFlows, FloodSettings.newFlowsRange, "new flows per second"),
            ("source_prefix_v4", \.sourcePrefixV4, FloodSettings.sourcePrefixV4Range, "IPv4 prefix length"),
            ("source_prefix_v6", \.sourcePrefixV6, FloodSettings.sourcePrefixV6Range, "IPv6 prefix length"),
            ("new_flows_per_cpu", \.newFlowsPerCPU, FloodSettings.newFlowsPerCPURange, "new flows per second per CPU"),
        ]
        for (key, path, range, what) in numbers {
            if let node = fields[key], let value = reader.integer(node, key: "flood.\(key)", in: range, what: what) {
                settings[keyPath: path] = value
            }
        }
        return settings
    }
}
