/// The configuration file's spelling of a definition: one flat block,
///
/// ```yaml
/// type: https            # none | tcp | http | https (required)
/// via: tunnel            # tunnel (to the VIP, encapsulated to the backend) | direct
/// port: 8443             # default: the service's port
/// interval: 2s           # durations need a unit: ms, s, m
/// timeout: 1s            # less than interval
/// rise: 2
/// fall: 3
/// jitter: 0.1            # 0 to 0.5, fraction of the interval
/// start_state: down      # up | down
/// method: GET            # http/https: GET | HEAD
/// path: /healthz
/// host: www.example.com  # Host header; default: the backend's address
/// headers: {X-Check: lbd}
/// expect_status: 200-399 # codes and ranges: 200, "200,204", [200, "300-302"]
/// body_contains: ok      # GET only
/// verify_tls: false      # https only
/// sni: www.example.com   # https only; default: host
/// ```
///
/// Unknown fields are refused (a misspelt `intervall` would otherwise silently keep
/// the default), as are fields that do not apply to the type. Every error is a
/// `HealthCheckConfigError` naming the field.
extension HealthCheckDefinition: Codable {
    enum Field: String, CaseIterable {
        case type, via, port, interval, timeout, rise, fall, jitter, startState = "start_state"
        case method, path, host, headers, expectStatus = "expect_status", bodyContains = "body_contains"
        case verifyTLS = "verify_tls", sni

        static let httpOnly: [Field] = [.method, .path, .host, .headers, .expectStatus, .bodyContains]
        static let httpsOnly: [Field] = [.verifyTLS, .sni]
    }

    public init(from decoder: any Decoder) throws {
        try self.init(from: decoder, alsoAllowing: [])
    }

    /// Decodes a definition from a block that may also hold `extraFields` belonging to
    /// the caller (a service's `min_up`).
    init(from decoder: any Decoder, alsoAllowing extraFields: Set<String>) throws {
        let fields = try ConfigFields(decoder, known: Set(Field.allCases.map(\.rawValue)).union(extraFields))
        guard let typeName = try fields.string(Field.type.rawValue) else {
            throw HealthCheckConfigError("type", "type is required: none, tcp, http or https")
        }
        guard let type = CheckType(rawValue: typeName) else {
            throw HealthCheckConfigError("type", "type \"\(typeName)\" is not one of none, tcp, http, https")
        }
        let present = Set(fields.present.compactMap(Field.init(rawValue:)))
        if type == .none, let other = Field.allCases.first(where: { $0 != .type && present.contains($0) }) {
            throw HealthCheckConfigError(other.rawValue, "\(other.rawValue) does not apply to type none")
        }
        if type == .tcp, let field = Field.httpOnly.first(where: present.contains) {
            throw HealthCheckConfigError(field.rawValue, "\(field.rawValue) applies only to http and https checks")
        }
        if type != .https, let field = Field.httpsOnly.first(where: present.contains) {
            throw HealthCheckConfigError(field.rawValue, "\(field.rawValue) applies only to https checks")
        }
        if type == .none {
            self = .none
            return
        }

        var port: UInt16?
        if let number = try fields.integer(Field.port.rawValue) {
            guard (1...65535).contains(number) else {
                throw HealthCheckConfigError("port", "port must be between 1 and 65535 (got \(number))")
            }
            port = UInt16(number)
        }
        var http: HTTPCheck?
        if type == .http || type == .https {
            http = try HTTPCheck(
                method: try fields.method(Field.method.rawValue) ?? .get,
                path: try fields.string(Field.path.rawValue) ?? "/",
                host: try fields.string(Field.host.rawValue),
                headers: try fields.headers(Field.headers.rawValue) ?? [:],
                expectStatus: try fields.statusRanges(Field.expectStatus.rawValue) ?? .default,
                bodyContains: try fields.string(Field.bodyContains.rawValue),
                verifyTLS: try fields.bool(Field.verifyTLS.rawValue) ?? false,
                sni: try fields.string(Field.sni.rawValue))
        }
        try self.init(
            type: type, port: port,
            interval: try fields.duration(Field.interval.rawValue) ?? Self.defaultInterval,
            timeout: try fields.duration(Field.timeout.rawValue) ?? Self.defaultTimeout,
            rise: try fields.integer(Field.rise.rawValue) ?? Self.defaultRise,
            fall: try fields.integer(Field.fall.rawValue) ?? Self.defaultFall,
            jitter: try fields.number(Field.jitter.rawValue) ?? Self.defaultJitter,
            startState: try fields.startState(Field.startState.rawValue) ?? .down,
            http: http, via: try fields.route(Field.via.rawValue) ?? .tunnel)
    }

    /// Writes every setting explicitly, so a dumped configuration shows the defaults in
    /// force; decoding the output gives an equal definition.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: ConfigKey.self)
        func put(_ field: Field, _ value: some Encodable) throws {
            try container.encode(value, forKey: ConfigKey(field.rawValue))
        }
        try put(.type, type.rawValue)
        guard type != .none else { return }
        try put(.via, via.rawValue)
        if let port { try put(.port, port) }
        try put(.interval, DurationText.format(interval))
        try put(.timeout, DurationText.format(timeout))
        try put(.rise, rise)
        try put(.fall, fall)
        try put(.jitter, jitter)
        try put(.startState, startState.rawValue)
        guard let http else { return }
        try put(.method, http.method.rawValue)
        try put(.path, http.path)
        if let host = http.host { try put(.host, host) }
        if !http.headers.isEmpty { try put(.headers, http.headers) }
        try put(.expectStatus, http.expectStatus.description)
        if let body = http.bodyContains { try put(.bodyContains, body) }
        guard type == .https else { return }
        try put(.verifyTLS, http.verifyTLS)
        if let sni = http.sni { try put(.sni, sni) }
    }
}
