import Balancer
import HealthCheck
import LBDAPI

extension ServicesResponse {
    /// The services as the state file writes them; a health check as its configuration block.
    init(_ services: [ServiceSpec]) throws {
        self.init(services: try services.map { service in
            Service(vip: service.vip.description, hash: service.hash.rawValue,
                    udpIdleTimeout: service.udpIdleTimeout.map(DurationText.format),
                    // As the state file: only when not the default.
                    onBackendDown: service.onBackendDown == .move ? nil : service.onBackendDown.rawValue,
                    quic: service.quic.map { ($0.serverIDLength, $0.connectionIDLength) },
                    backends: try service.backends.map { backend in
                        Backend(address: backend.address.description, weight: backend.weight, drained: backend.drained,
                                healthCheck: try backend.healthCheck.map(JSONValue.init(encoding:)),
                                quicServerID: backend.quicServerID)
                    },
                    healthCheck: try service.healthCheck.map(JSONValue.init(encoding:)))
        })
    }
}
