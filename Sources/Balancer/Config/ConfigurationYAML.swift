import HealthCheck
import Yams

/// Reads `Configuration` from YAML: each key's type and range, then the seed services
/// validated under the limits read.
enum ConfigurationYAML {
    static let keys = ["interface", "xdp_mode", "gateway_mac", "encap_source_v4", "encap_source_v6", "mtu",
                       "udp_idle_timeout", "tcp_idle_timeout", "tcp_linger", "api_socket", "metrics_listen", "state_dir", "bpf_pin_dir", "limits",
                       "announce", "flood", "services"]
    static let limitKeys = ["max_vips", "max_backends", "ring_size", "connection_table"]

    /// The configuration, or nil when anything was reported.
    static func read(_ text: String, into reader: inout YAMLReader) -> Configuration? {
        guard let root = reader.compose(text) else {
            if reader.errors.isEmpty { reader.report("the configuration is empty; 'interface' is required", at: nil) }
            return nil
        }
        guard let fields = reader.mapping(root, name: "the configuration", allowed: keys) else { return nil }

        var interface: String?
        if let node = fields["interface"] {
            interface = reader.value(node, key: "interface", interfaceName)
        } else {
            reader.report("'interface' is required: the network interface to attach the balancer to", at: root)
        }
        let v4 = fields["encap_source_v4"].flatMap { reader.value($0, key: "encap_source_v4") { text throws(ParseError) in
            try prefix(text, family: .v4)
        } }
        let v6 = fields["encap_source_v6"].flatMap { reader.value($0, key: "encap_source_v6") { text throws(ParseError) in
            try prefix(text, family: .v6)
        } }
        var marks = ServicesYAML.Marks()
        var limits = readLimits(fields["limits"], into: &reader, marks: &marks)
        limits.backendFamilies = Configuration.families(v4: v4, v6: v6)

        var configuration = Configuration(interface: interface ?? "", encapSourceV4: v4, encapSourceV6: v6,
                                          limits: limits)
        if let node = fields["xdp_mode"], let mode = reader.value(node, key: "xdp_mode", xdpMode) {
            configuration.xdpMode = mode
        }
        if let node = fields["gateway_mac"], let mac = reader.value(node, key: "gateway_mac", gatewayMAC) {
            configuration.gatewayMAC = mac
        }
        if let node = fields["mtu"], let mtu = reader.value(node, key: "mtu", mtu) {
            configuration.mtu = mtu
        }
        if let node = fields["udp_idle_timeout"], let timeout = reader.value(node, key: "udp_idle_timeout", udpTimeout) {
            configuration.udpIdleTimeout = timeout
        }
        if let node = fields["tcp_idle_timeout"], let timeout = reader.value(node, key: "tcp_idle_timeout", { text throws(ParseError) in
            try wholeSeconds(text, in: Configuration.tcpIdleTimeoutRange, what: "TCP idle timeout")
        }) {
            configuration.tcpIdleTimeout = timeout
        }
        if let node = fields["tcp_linger"], let linger = reader.value(node, key: "tcp_linger", { text throws(ParseError) in
            try wholeSeconds(text, in: Configuration.tcpLingerRange, what: "TCP linger")
        }) {
            configuration.tcpLinger = linger
        }
        if let node = fields["api_socket"], let path = reader.value(node, key: "api_socket", socketPath) {
            configuration.apiSocket = path
        }
        if let node = fields["metrics_listen"], let listen = reader.value(node, key: "metrics_listen", ListenAddress.init) {
            configuration.metricsListen = listen
        }
        if let node = fields["state_dir"], let path = reader.value(node, key: "state_dir", absolutePath) {
            configuration.stateDirectory = path
        }
        if let node = fields["bpf_pin_dir"], let path = reader.value(node, key: "bpf_pin_dir", absolutePath) {
            configuration.bpfPinDirectory = path
        }
        if let node = fields["announce"] {
            configuration.announce = AnnounceYAML.read(node, into: &reader)
        }
        if let node = fields["flood"] {
            configuration.flood = FloodYAML.read(node, into: &reader)
        }
        if let list = fields["services"] {
            let services = ServicesYAML.read(list, into: &reader, marks: &marks)
            configuration.services = ServicesYAML.validate(services, limits: limits, marks: marks, into: &reader)
                ?? DesiredState()
        } else if !limits.validate().isEmpty {
            // Report bad limits even without services to validate.
            _ = ServicesYAML.validate([], limits: limits, marks: marks, into: &reader)
        }
        return reader.errors.isEmpty ? configuration : nil
    }

    private static func readLimits(_ node: Node?, into reader: inout YAMLReader, marks: inout ServicesYAML.Marks) -> Limits {
        var limits = Limits()
        guard let node else { return limits }
        marks.limitsSection = node.mark
        guard let fields = reader.mapping(node, name: "limits", allowed: limitKeys) else { return limits }
        marks.limits = fields.values.compactMapValues(\.mark)
        // Ranges are checked by Limits.validate, with the datapath's reasons.
        func read(_ key: String, into value: inout Int) {
            if let node = fields[key], let number = reader.integer(node, key: "limits.\(key)") { value = number }
        }
        read("max_vips", into: &limits.maxVIPs)
        read("max_backends", into: &limits.maxBackends)
        read("ring_size", into: &limits.ringSize)
        read("connection_table", into: &limits.connectionTable)
        return limits
    }

    // MARK: Values

    /// Linux interface names: 1 to 15 bytes (IFNAMSIZ − 1), no '/', ':' or white space.
    static func interfaceName(_ text: String) throws(ParseError) -> String {
        guard (1...15).contains(text.utf8.count), text != ".", text != "..",
              !text.contains(where: { $0 == "/" || $0 == ":" || $0.isWhitespace }) else {
            throw ParseError("bad interface name '\(text)': 1 to 15 characters, without '/', ':' or spaces")
        }
        return text
    }

    static func xdpMode(_ text: String) throws(ParseError) -> Configuration.XDPAttachMode {
        guard let mode = Configuration.XDPAttachMode(rawValue: text) else {
            throw ParseError("bad XDP mode '\(text)': expected native, generic or auto")
        }
        return mode
    }

    static func gatewayMAC(_ text: String) throws(ParseError) -> Configuration.GatewayMAC {
        text == "auto" ? .auto : .address(try MACAddress(text))
    }

    static func prefix(_ text: String, family: IPAddress.Family) throws(ParseError) -> IPPrefix {
        let prefix = try IPPrefix(text)
        guard prefix.address.family == family else {
            throw ParseError("\(text) is \(prefix.address.family); expected an \(family) prefix")
        }
        return prefix
    }

    static func mtu(_ text: String) throws(ParseError) -> Int {
        guard let value = Int(text), value == 0 || Configuration.mtuRange.contains(value) else {
            throw ParseError("bad MTU '\(text)': expected 0 (no check) or \(Configuration.mtuRange.lowerBound)..."
                + "\(Configuration.mtuRange.upperBound)")
        }
        return value
    }

    static func udpTimeout(_ text: String) throws(ParseError) -> Duration {
        try wholeSeconds(text, in: ServiceSpec.udpIdleTimeoutRange, what: "UDP idle timeout")
    }

    /// A duration the datapath stores in seconds.
    static func wholeSeconds(_ text: String, in range: ClosedRange<Duration>, what: String) throws(ParseError) -> Duration {
        let duration = try DurationText.parse(text)
        guard range.contains(duration), duration.components.attoseconds == 0 else {
            throw ParseError("bad \(what) '\(text)': whole seconds from \(DurationText.format(range.lowerBound))"
                + " to \(DurationText.format(range.upperBound))")
        }
        return duration
    }

    static func absolutePath(_ text: String) throws(ParseError) -> String {
        guard text.hasPrefix("/") else { throw ParseError("bad path '\(text)': expected an absolute path") }
        return text
    }

    /// A unix socket path must fit `sun_path` (108 bytes with its terminating zero).
    static func socketPath(_ text: String) throws(ParseError) -> String {
        let path = try absolutePath(text)
        guard path.utf8.count <= 107 else {
            throw ParseError("bad socket path '\(text)': \(path.utf8.count) bytes, unix sockets allow 107")
        }
        return path
    }
}
