import Yams

/// The `flood:` section: how the datapath groups clients into source prefixes (for
/// `lbctl top sources` and the limit) and the optional per-prefix new-flow limit.
/// Applied by a reload, without a restart.
///
/// ```yaml
/// flood:
///   per_source_new_flows: 0   # new flows per second per (VIP, source prefix); 0 = no limit
///   source_prefix_v4: 24      # IPv4 clients are grouped per /24 ...
///   source_prefix_v6: 64      # ... and IPv6 clients per /64
/// ```
public struct FloodSettings: Equatable, Sendable {
    public static let defaultPrefixV4 = 24
    public static let defaultPrefixV6 = 64
    /// Above a million a second per prefix the table itself is the limit.
    public static let newFlowsRange = 0...1_000_000

    /// 0: no limit.
    public var perSourceNewFlows = 0
    public var sourcePrefixV4 = defaultPrefixV4
    public var sourcePrefixV6 = defaultPrefixV6

    public init(perSourceNewFlows: Int = 0, sourcePrefixV4: Int = defaultPrefixV4, sourcePrefixV6: Int = defaultPrefixV6) {
        self.perSourceNewFlows = perSourceNewFlows
        self.sourcePrefixV4 = sourcePrefixV4
        self.sourcePrefixV6 = sourcePrefixV6
    }
}

/// Reads the configuration's `flood:` section.
enum FloodYAML {
    static let keys = ["per_source_new_flows", "source_prefix_v4", "source_prefix_v6"]

    static func read(_ node: Node, into reader: inout YAMLReader) -> FloodSettings {
        var settings = FloodSettings()
        guard let fields = reader.mapping(node, name: "flood", allowed: keys) else { return settings }
        if let node = fields["per_source_new_flows"], let value = reader.value(node, key: "flood.per_source_new_flows", {
            text throws(ParseError) in try number(text, in: FloodSettings.newFlowsRange, what: "new flows per second")
        }) {
            settings.perSourceNewFlows = value
        }
        if let node = fields["source_prefix_v4"], let value = reader.value(node, key: "flood.source_prefix_v4", {
            text throws(ParseError) in try number(text, in: 1...32, what: "IPv4 prefix length")
        }) {
            settings.sourcePrefixV4 = value
        }
        if let node = fields["source_prefix_v6"], let value = reader.value(node, key: "flood.source_prefix_v6", {
            text throws(ParseError) in try number(text, in: 1...128, what: "IPv6 prefix length")
        }) {
            settings.sourcePrefixV6 = value
        }
        return settings
    }

    static func number(_ text: String, in range: ClosedRange<Int>, what: String) throws(ParseError) -> Int {
        guard text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text), range.contains(value) else {
            throw ParseError("bad \(what) '\(text)': expected an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}
