import Balancer

/// The body of `POST /v1/edit`: one change to lbd's desired state. Optional fields left
/// nil are not sent, so lbd applies its own defaults (hash, weight).
struct EditRequest: Encodable, Equatable, Sendable {
    enum Operation: String, Encodable, Sendable {
        case addVIP = "add_vip"
        case removeVIP = "remove_vip"
        case addBackend = "add_backend"
        case removeBackend = "remove_backend"
        case setWeight = "set_weight"
        case drain
        case undrain
    }

    private enum CodingKeys: String, CodingKey {
        case op, vip, hash, address, weight, force
        case udpIdleTimeout = "udp_idle_timeout"
    }

    var op: Operation
    /// nil: drain / undrain in every VIP that has the backend.
    var vip: VIPKey?
    var hash: HashMode?
    /// As the operator wrote it (`30s`); lbd reads it with the parser lbctl checked it with.
    var udpIdleTimeout: String?
    var address: IPAddress?
    var weight: Int?
    /// add_vip on an address of lbd's host; sent only when true.
    var force: Bool?
}
