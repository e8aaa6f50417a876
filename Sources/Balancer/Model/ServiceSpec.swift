import HealthCheck
import HealthCheck

/// One VIP and its backends, as the operator wants them.
public struct ServiceSpec: Hashable, Sendable {
    /// The range of a per-VIP UDP idle timeout: whole seconds, since the datapath
    /// stores seconds, up to a day.
    public static let udpIdleTimeoutRange: ClosedRange<Duration> = .seconds(1) ... .seconds(86_400)

    public var vip: VIPKey
    public var hash: HashMode
    /// How long a UDP flow keeps its backend without packets; nil uses the global
    /// `udp_idle_timeout`. UDP VIPs only (TCP flows end with the connection table's LRU).
    public var udpIdleTimeout: Duration?
    /// Whether established flows leave a backend that goes down (`on_backend_down`).
    public var onBackendDown: BackendDownPolicy
    /// QUIC connection-ID routing (`quic: true`), UDP VIPs only; nil: plain UDP.
    public var quic: QUICSettings?
    /// In the operator's order; addresses are unique within a service.
    public var backends: [BackendSpec]
    /// How its backends are checked (each may override the definition) and its quorum;
    /// nil: not checked, every backend is up unless drained by hand.
    public var healthCheck: ServiceHealthCheck?

    public init(vip: VIPKey, hash: HashMode = .fiveTuple, udpIdleTimeout: Duration? = nil,
                onBackendDown: BackendDownPolicy = .move, quic: QUICSettings? = nil, backends: [BackendSpec] = [],
                healthCheck: ServiceHealthCheck? = nil) {
        self.vip = vip
        self.hash = hash
        self.udpIdleTimeout = udpIdleTimeout
        self.onBackendDown = onBackendDown
        self.quic = quic
        self.backends = backends
        self.healthCheck = healthCheck
    }

    /// The backend with `address`, if the service has it.
    public func backend(_ address: IPAddress) -> BackendSpec? {
        backends.first { $0.address == address }
    }

    /// The panic threshold of its `health_check` block (`ServiceHealthCheck`); a service
    /// without one never panics (0): its backends are checked, if at all, each on its own.
    public var panicThreshold: Int { healthCheck?.panicThreshold ?? 0 }

    /// The check that decides whether `backend` takes new flows of this service: its own,
    /// else the service's; nil when it is not checked (`none`, or no check at all).
    public func check(for backend: BackendSpec) -> HealthCheckDefinition? {
        let definition = backend.healthCheck ?? healthCheck?.check
        return definition?.type == HealthCheckDefinition.none.type ? nil : definition
    }
}

extension ServiceSpec: Codable {
    private enum CodingKeys: String, CodingKey {
        case vip, hash, backends
        case udpIdleTimeout = "udp_idle_timeout"
        case onBackendDown = "on_backend_down"
        case healthCheck = "health_check"
        case quic
        case quicServerIDLength = "quic_server_id_length"
        case quicConnectionIDLength = "quic_connection_id_length"
    }

    /// `hash`, `udp_idle_timeout`, `on_backend_down`, the `quic` keys and `backends` may
    /// be left out; the timeout is text (`30s`), as in the configuration file. QUIC
    /// lengths without `quic: true` are refused, as in the services file.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        vip = try container.decode(VIPKey.self, forKey: .vip)
        hash = try container.decodeIfPresent(HashMode.self, forKey: .hash) ?? .fiveTuple
        onBackendDown = try container.decodeIfPresent(BackendDownPolicy.self, forKey: .onBackendDown) ?? .move
        backends = try container.decodeIfPresent([BackendSpec].self, forKey: .backends) ?? []
        healthCheck = try container.decodeIfPresent(ServiceHealthCheck.self, forKey: .healthCheck)
        quic = try Self.decodeQUIC(container)
        if let text = try container.decodeIfPresent(String.self, forKey: .udpIdleTimeout) {
            do {
                udpIdleTimeout = try DurationText.parse(text)
            } catch {
                throw DecodingError.dataCorruptedError(forKey: .udpIdleTimeout, in: container,
                                                       debugDescription: error.description)
            }
        } else {
            udpIdleTimeout = nil
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(vip, forKey: .vip)
        try container.encode(hash, forKey: .hash)
        try container.encodeIfPresent(udpIdleTimeout.map(DurationText.format), forKey: .udpIdleTimeout)
        // Written only when it is not the default: state files of services that never
        // chose read the same as before the key existed.
        try container.encodeIfPresent(onBackendDown == .move ? nil : onBackendDown, forKey: .onBackendDown)
        try container.encode(backends, forKey: .backends)
        try container.encodeIfPresent(healthCheck, forKey: .healthCheck)
        if let quic {
            try container.encode(true, forKey: .quic)
            try container.encode(quic.serverIDLength, forKey: .quicServerIDLength)
            try container.encode(quic.connectionIDLength, forKey: .quicConnectionIDLength)
        }
    }

    private static func decodeQUIC(_ container: KeyedDecodingContainer<CodingKeys>) throws -> QUICSettings? {
        let serverIDLength = try container.decodeIfPresent(Int.self, forKey: .quicServerIDLength)
        let connectionIDLength = try container.decodeIfPresent(Int.self, forKey: .quicConnectionIDLength)
        guard try container.decodeIfPresent(Bool.self, forKey: .quic) == true else {
            guard serverIDLength == nil, connectionIDLength == nil else {
                throw DecodingError.dataCorruptedError(forKey: .quic, in: container,
                    debugDescription: "quic_server_id_length and quic_connection_id_length need quic: true")
            }
            return nil
        }
        return QUICSettings(serverIDLength: serverIDLength ?? QUICSettings.defaultServerIDLength,
                            connectionIDLength: connectionIDLength ?? QUICSettings.defaultConnectionIDLength)
    }
}
