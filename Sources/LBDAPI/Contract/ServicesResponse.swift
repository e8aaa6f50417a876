/// `GET /v1/services`: the desired state, each service as the state file writes it.
public struct ServicesResponse: Codable, Equatable, Sendable {
    public struct Service: Codable, Equatable, Sendable {
        public var vip: String
        /// `5tuple` or `source`.
        public var hash: String
        /// A duration as the configuration writes it (`30s`); nil: lbd's global one.
        public var udpIdleTimeout: String?
        /// `keep`: established flows stay on a backend that goes down; nil: `move`, the default.
        public var onBackendDown: String?
        /// QUIC connection-ID routing: true with its lengths; all nil for a plain VIP.
        public var quic: Bool?
        public var quicServerIDLength: Int?
        public var quicConnectionIDLength: Int?
        public var backends: [Backend]
        /// The service's `health_check:` block, as in the configuration file.
        public var healthCheck: JSONValue?

        private enum CodingKeys: String, CodingKey {
            case vip, hash, backends, quic
            case udpIdleTimeout = "udp_idle_timeout"
            case onBackendDown = "on_backend_down"
            case healthCheck = "health_check"
            case quicServerIDLength = "quic_server_id_length"
            case quicConnectionIDLength = "quic_connection_id_length"
        }

        public init(vip: String, hash: String, udpIdleTimeout: String?, onBackendDown: String? = nil,
                    quic: (serverIDLength: Int, connectionIDLength: Int)? = nil, backends: [Backend],
                    healthCheck: JSONValue?) {
            self.vip = vip
            self.hash = hash
            self.udpIdleTimeout = udpIdleTimeout
            self.onBackendDown = onBackendDown
            self.quic = quic.map { _ in true }
            self.quicServerIDLength = quic?.serverIDLength
            self.quicConnectionIDLength = quic?.connectionIDLength
            self.backends = backends
            self.healthCheck = healthCheck
        }
    }

    public struct Backend: Codable, Equatable, Sendable {
        public var address: String
        public var weight: Int
        public var drained: Bool
        /// The backend's own `health_check:` block, when it has one.
        public var healthCheck: JSONValue?
        /// The server id of its QUIC connection IDs (QUIC VIPs), when it has one.
        public var quicServerID: Int?

        private enum CodingKeys: String, CodingKey {
            case address, weight, drained
            case healthCheck = "health_check"
            case quicServerID = "quic_server_id"
        }

        public init(address: String, weight: Int, drained: Bool, healthCheck: JSONValue?, quicServerID: Int? = nil) {
            self.address = address
            self.weight = weight
            self.drained = drained
            self.healthCheck = healthCheck
            self.quicServerID = quicServerID
        }
    }

    public var services: [Service]
    /// Digests the services: equal services, equal version (nil from an older lbd).
    public var version: String?

    public init(services: [Service], version: String? = nil) {
        self.services = services
        self.version = version
    }
}
