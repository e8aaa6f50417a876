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
        public var backends: [Backend]
        /// The service's `health_check:` block, as in the configuration file.
        public var healthCheck: JSONValue?

        private enum CodingKeys: String, CodingKey {
            case vip, hash, backends
            case udpIdleTimeout = "udp_idle_timeout"
            case onBackendDown = "on_backend_down"
            case healthCheck = "health_check"
        }

        public init(vip: String, hash: String, udpIdleTimeout: String?, onBackendDown: String? = nil, backends: [Backend],
                    healthCheck: JSONValue?) {
            self.vip = vip
            self.hash = hash
            self.udpIdleTimeout = udpIdleTimeout
            self.onBackendDown = onBackendDown
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

        private enum CodingKeys: String, CodingKey {
            case address, weight, drained
            case healthCheck = "health_check"
        }

        public init(address: String, weight: Int, drained: Bool, healthCheck: JSONValue?) {
            self.address = address
            self.weight = weight
            self.drained = drained
            self.healthCheck = healthCheck
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
