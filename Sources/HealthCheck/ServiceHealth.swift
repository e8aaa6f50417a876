/// A service's (VIP's) health check block: the definition its backends use unless they
/// override it, and `min_up`, the quorum below which the service is degraded.
///
/// `min_up` sits in the same flat block as the definition's fields but is not part of
/// the definition, so two services with the same check and different quorums still
/// share their backends' checkers.
public struct ServiceHealthCheck: Sendable, Hashable, Codable {
    public let check: HealthCheckDefinition
    public let minUp: Int

    public init(check: HealthCheckDefinition, minUp: Int = 1) throws(HealthCheckConfigError) {
        guard minUp >= 1 else { throw HealthCheckConfigError("min_up", "min_up must be at least 1 (got \(minUp))") }
        self.check = check
        self.minUp = minUp
    }

    public init(from decoder: any Decoder) throws {
        let check = try HealthCheckDefinition(from: decoder, alsoAllowing: ["min_up"])
        let known = HealthCheckDefinition.Field.allCases.map(\.rawValue) + ["min_up"]
        let fields = try ConfigFields(decoder, known: Set(known))
        try self.init(check: check, minUp: try fields.integer("min_up") ?? 1)
    }

    public func encode(to encoder: any Encoder) throws {
        try check.encode(to: encoder)
        var container = encoder.container(keyedBy: ConfigKey.self)
        try container.encode(minUp, forKey: ConfigKey("min_up"))
    }
}

/// How many of a service's backends are up against its quorum.
///
/// The verdict only describes; what a degraded service does with new flows is the
/// daemon's choice, which it documents and applies:
/// - keep balancing new flows over the backends that are up (lbd's default, as IPVS and
///   Katran do): nothing is dropped, but the survivors take all the load;
/// - fail open, as Envoy's panic threshold does: below the quorum, spread new flows over
///   every backend, up or down, on the theory that checks failing everywhere at once
///   say more about the checks than the backends;
/// - withdraw the VIP (stop announcing it) so traffic moves to another site.
/// Established flows follow their connection-table entries in every case.
public struct ServiceHealth: Sendable, Hashable, CustomStringConvertible {
    public enum Level: String, Sendable, Hashable {
        /// At least `minUp` backends are up.
        case healthy
        /// Some, but fewer than `minUp`, backends are up.
        case degraded
        /// No backend is up (or there are none).
        case down
    }

    public let up: Int
    public let total: Int
    public let minUp: Int

    public init(statuses: some Sequence<HealthStatus>, minUp: Int) {
        var up = 0
        var total = 0
        for status in statuses {
            total += 1
            if status == .up { up += 1 }
        }
        self.up = up
        self.total = total
        self.minUp = minUp
    }

    public var level: Level {
        if up == 0 { return .down }
        return up < minUp ? .degraded : .healthy
    }

    /// "degraded: 1 of 4 backends up, min_up 2".
    public var description: String { "\(level.rawValue): \(up) of \(total) backends up, min_up \(minUp)" }
}
