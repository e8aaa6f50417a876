/// The daemon's configuration file (`/etc/lbd/lbd.yaml`). Every key but `interface`
/// has a default; unknown keys are errors.
///
/// ```yaml
/// interface: eth0                  # required: the NIC the balancer attaches to
/// xdp_mode: auto                   # native | generic | auto (native, else generic)
/// gateway_mac: auto                # next-hop MAC of encapsulated packets, or 02:00:00:00:00:01
/// encap_source_v4: 172.16.0.0/16   # outer source range toward IPv4 backends
/// encap_source_v6: fd00:1bd::/64   # outer source range toward IPv6 backends
/// mtu: 1500                        # largest outer packet toward backends; 0 = no check
/// udp_idle_timeout: 30s            # default UDP flow idle timeout
/// tcp_idle_timeout: 1h             # a TCP flow without packets this long is forgotten
/// tcp_linger: 10s                  # a TCP flow is forgotten this long after the client's FIN / RST
/// api_socket: /run/lbd/lbd.sock    # lbctl's unix socket
/// metrics_listen: 127.0.0.1:9750   # Prometheus /metrics
/// state_dir: /var/lib/lbd          # state.json: the desired state across restarts
/// bpf_pin_dir: /sys/fs/bpf/lbd     # where the program and maps are pinned (bpffs)
/// limits: { max_vips: 512, max_backends: 4096, ring_size: 65537, connection_table: 1000000 }
/// announce: { enabled: true, ... } # BGP announcements through BIRD (AnnounceSettings)
/// flood: { per_source_new_flows: 0 } # source prefixes and their new-flow limit (FloodSettings)
/// services: []                     # seed: used only while state_dir has no state.json
/// ```
public struct Configuration: Equatable, Sendable {
    /// How the program is attached to `interface`.
    public enum XDPAttachMode: String, Sendable, CaseIterable {
        /// In the driver: fastest; fails if the driver lacks XDP.
        case native
        /// In the kernel's generic hook (skb): works everywhere, slower.
        case generic
        /// Native, falling back to generic.
        case auto
    }

    /// The destination MAC of every encapsulated packet.
    public enum GatewayMAC: Equatable, Sendable, CustomStringConvertible {
        /// Resolved by the daemon from the default route's neighbour on `interface`.
        case auto
        case address(MACAddress)

        public var description: String {
            switch self {
            case .auto: "auto"
            case .address(let mac): mac.description
            }
        }
    }

    /// MTU range: at least 1320 so IPv6 clients are never told a path MTU below 1280
    /// once the 40-byte outer header is taken off; 0 turns the check off.
    public static let mtuRange = 1320...65_535
    public static let defaultMTU = 1500
    public static let defaultUDPIdleTimeout: Duration = .seconds(30)
    /// Long: an idle connection whose entry expired is re-hashed by its next packet, which
    /// keeps its backend only while the VIP's ring is unchanged. Long enough for the
    /// keepalives of most idle connections (TCP keepalive defaults are 2 h, so those do
    /// not all make it); short enough that a drain with idle flows ends within the hour.
    public static let defaultTCPIdleTimeout: Duration = .seconds(3600)
    public static let tcpIdleTimeoutRange: ClosedRange<Duration> = .seconds(1) ... .seconds(30 * 86_400)
    /// After the client's FIN or RST: covers the final ACK and retransmitted FINs.
    public static let defaultTCPLinger: Duration = .seconds(10)
    public static let tcpLingerRange: ClosedRange<Duration> = .seconds(1) ... .seconds(3600)
    public static let defaultAPISocket = "/run/lbd/lbd.sock"
    public static let defaultMetricsListen = ListenAddress(address: IPAddress(ipv4: 0x7f00_0001), port: 9750)
    public static let defaultStateDirectory = "/var/lib/lbd"
    public static let defaultBPFPinDirectory = "/sys/fs/bpf/lbd"

    public var interface: String
    public var xdpMode: XDPAttachMode = .auto
    public var gatewayMAC: GatewayMAC = .auto
    /// nil: IPv4 backends are refused (the outer header would have no source).
    public var encapSourceV4: IPPrefix? {
        didSet { limits.backendFamilies = Self.families(v4: encapSourceV4, v6: encapSourceV6) }
    }
    /// nil: IPv6 backends (and 4-in-6) are refused.
    public var encapSourceV6: IPPrefix? {
        didSet { limits.backendFamilies = Self.families(v4: encapSourceV4, v6: encapSourceV6) }
    }
    /// 0 or in `mtuRange`.
    public var mtu = defaultMTU
    /// For UDP VIPs without their own timeout; whole seconds in `ServiceSpec.udpIdleTimeoutRange`.
    public var udpIdleTimeout = defaultUDPIdleTimeout
    /// Connection entries of TCP flows without packets this long are stale (whole seconds).
    public var tcpIdleTimeout = defaultTCPIdleTimeout
    /// Connection entries of TCP flows whose client sent a FIN or an RST are stale this
    /// long after their last packet (whole seconds); they no longer count as active flows.
    public var tcpLinger = defaultTCPLinger
    public var apiSocket = defaultAPISocket
    public var metricsListen = defaultMetricsListen
    public var stateDirectory = defaultStateDirectory
    public var bpfPinDirectory = defaultBPFPinDirectory
    /// `backendFamilies` always follows the encapsulation sources configured.
    public var limits: Limits {
        didSet { limits.backendFamilies = Self.families(v4: encapSourceV4, v6: encapSourceV6) }
    }
    /// nil: this node announces nothing (no `announce:` section, or `enabled: false`).
    public var announce: AnnounceSettings?
    public var flood = FloodSettings()
    /// The services to start with when `stateDirectory` holds no state yet; afterwards
    /// the state file is the truth and edits go through the API.
    public var services: DesiredState

    public init(interface: String, encapSourceV4: IPPrefix? = nil, encapSourceV6: IPPrefix? = nil,
                limits: Limits = Limits(), services: DesiredState = DesiredState()) {
        self.interface = interface
        self.encapSourceV4 = encapSourceV4
        self.encapSourceV6 = encapSourceV6
        self.limits = limits
        self.services = services
        self.limits.backendFamilies = Self.families(v4: encapSourceV4, v6: encapSourceV6)
    }

    /// The backend families encapsulation sources exist for.
    static func families(v4: IPPrefix?, v6: IPPrefix?) -> Set<IPAddress.Family> {
        Set([v4.map { _ in .v4 }, v6.map { _ in .v6 }].compactMap { $0 })
    }

    /// The configuration in `yaml`, or every error with its position.
    public init(yaml: String) throws(ConfigErrors) {
        var reader = YAMLReader()
        let configuration = ConfigurationYAML.read(yaml, into: &reader)
        guard let configuration, reader.errors.isEmpty else { throw reader.failure }
        self = configuration
    }

    /// Every error of the configuration in `yaml`, in file order; empty when it is valid.
    /// `lbd check --config FILE` prints them with `ConfigError.formatted(file:)`.
    public static func check(yaml: String) -> [ConfigError] {
        do {
            _ = try Configuration(yaml: yaml)
            return []
        } catch {
            return error.errors
        }
    }
}
