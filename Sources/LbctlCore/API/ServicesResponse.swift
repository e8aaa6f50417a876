/// lbd's answer to `GET /v1/services`: the desired state. Values stay text: lbctl shows
/// them, it does not judge them.
struct ServicesResponse: Decodable, Equatable, Sendable {
    struct Service: Decodable, Equatable, Sendable {
        let vip: String
        let hash: String
        let udpIdleTimeout: String?
        let backends: [Backend]

        private enum CodingKeys: String, CodingKey {
            case vip, hash, backends
            case udpIdleTimeout = "udp_idle_timeout"
        }
    }

    struct Backend: Decodable, Equatable, Sendable {
        let address: String
        let weight: Int
        let drained: Bool
    }

    let services: [Service]
}
