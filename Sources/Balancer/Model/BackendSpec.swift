import HealthCheck

/// A backend of one service, as the operator wants it.
public struct BackendSpec: Hashable, Sendable {
    /// Weights are relative shares of a service's ring: only ratios matter. The range
    /// gives ratios up to 65 535 : 1 while staying far from the Maglev table's limits.
    public static let weightRange = 0...65_535
    /// The weight of a backend added without one.
    public static let defaultWeight = 100

    public var address: IPAddress
    /// Relative share of new flows, in `weightRange` (checked by validation, so that an
    /// out-of-range value read from a file or the API is reported, not trapped). Weight
    /// 0 takes no new flows, like draining, but is configuration rather than operation.
    public var weight: Int
    /// Takes no new flows while its established flows continue: the way to empty a
    /// backend before maintenance. Unlike a failed health check, draining keeps the
    /// backend up in the datapath, so its connections are not moved.
    public var drained: Bool
    /// This backend's own check, instead of its service's (another port, path or type).
    public var healthCheck: HealthCheckDefinition?
    /// The server id its QUIC stack writes into the connection IDs it issues (`quic:
    /// true` VIPs only; unique in the service, within `QUICSettings.serverIDRange`).
    /// nil: short headers reach it by the ring only.
    public var quicServerID: Int?

    public init(address: IPAddress, weight: Int = BackendSpec.defaultWeight, drained: Bool = false,
                healthCheck: HealthCheckDefinition? = nil, quicServerID: Int? = nil) {
        self.address = address
        self.weight = weight
        self.drained = drained
        self.healthCheck = healthCheck
        self.quicServerID = quicServerID
    }
}

extension BackendSpec: Codable {
    private enum CodingKeys: String, CodingKey {
        case address, weight, drained
        case healthCheck = "health_check"
        case quicServerID = "quic_server_id"
    }

    /// `weight`, `drained` and `quic_server_id` may be left out (default weight, not drained, none).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        address = try container.decode(IPAddress.self, forKey: .address)
        weight = try container.decodeIfPresent(Int.self, forKey: .weight) ?? Self.defaultWeight
        drained = try container.decodeIfPresent(Bool.self, forKey: .drained) ?? false
        healthCheck = try container.decodeIfPresent(HealthCheckDefinition.self, forKey: .healthCheck)
        quicServerID = try container.decodeIfPresent(Int.self, forKey: .quicServerID)
    }
}
