/// A service's (VIP's) health check block: the definition its backends use unless they
/// override it, `min_up`, the quorum below which the service is degraded, and
/// `panic_threshold`, the share of healthy backends below which the service stops
/// trusting its checks.
///
/// `min_up` and `panic_threshold` sit in the same flat block as the definition's fields
/// but are not part of the definition, so two services with the same check and
/// different quorums still share their backends' checkers.
public struct ServiceHealthCheck: Sendable, Hashable, Codable {
    public let check: HealthCheckDefinition
    public let minUp: Int
    /// Percent, 0...100: when fewer than this share of the backends that have passed
    /// their checks (weight > 0, not drained) are up, new flows go to all of them, up or
    /// down, as Envoy's panic mode does: checks failing for most backends at once say
    /// more about the checks (or the LB host's network) than about the backends. 0 never
    /// panics. Backends that have not passed a check since they were added take no part.
    public let panicThreshold: Int

    /// Envoy's default.
    public static let defaultPanicThreshold = 50
    public static let panicThresholdRange = 0...100

    public init(check: HealthCheckDefinition, minUp: Int = 1,
                panicThreshold: Int = defaultPanicThreshold) throws(HealthCheckConfigError) {
        guard minUp >= 1 else { throw HealthCheckConfigError("min_up", "min_up must be at least 1 (got \(minUp))") }
        guard Self.panicThresholdRange.contains(panicThreshold) else {
            throw HealthCheckConfigError(
                "panic_threshold", "panic_threshold must be a percentage from 0 (never) to 100 (got \(panicThreshold))")
        }
        self.check = check
        self.minUp = minUp
        self.panicThreshold = panicThreshold
    }

    private static let ownFields = ["min_up", "panic_threshold"]

    public init(from decoder: any Decoder) throws {
        let check = try HealthCheckDefinition(from: decoder, alsoAllowing: Set(Self.ownFields))
        let known = HealthCheckDefinition.Field.allCases.map(\.rawValue) + Self.ownFields
        let fields = try ConfigFields(decoder, known: Set(known))
        try self.init(check: check, minUp: try fields.integer("min_up") ?? 1,
                      panicThreshold: try fields.integer("panic_threshold") ?? Self.defaultPanicThreshold)
    }

    public func encode(to encoder: any Encoder) throws {
        try check.encode(to: encoder)
        var container = encoder.container(keyedBy: ConfigKey.self)
        try container.encode(minUp, forKey: ConfigKey("min_up"))
        try container.encode(panicThreshold, forKey: ConfigKey("panic_threshold"))
    }
}
