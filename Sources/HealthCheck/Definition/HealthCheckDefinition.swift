/// How one backend's health is checked: the probe, its timing and its hysteresis.
///
/// A service (VIP) has one definition and a backend may override it with its own. The
/// value is `Hashable` so that the monitor runs one checker per distinct (address, port,
/// definition), however many VIPs use it. It is valid by construction: the initialiser
/// and the decoder throw `HealthCheckConfigError` instead of producing a definition a
/// checker could not run.
public struct HealthCheckDefinition: Sendable, Hashable {
    public enum CheckType: String, Sendable, Hashable, CaseIterable {
        /// No probe: the backend is always up and is drained by hand.
        case none
        /// Success when the TCP handshake completes within the timeout.
        case tcp
        case http
        case https
    }

    /// Where a probe goes.
    public enum Route: String, Sendable, Hashable, CaseIterable {
        /// To the VIP and port, encapsulated toward this one backend as client traffic is
        /// (`HealthTarget.tunnel`): the check crosses the backend's decapsulation, its VIP
        /// on lo, the service and the direct reply path, where client flows go.
        case tunnel
        /// To the backend's own address: a backend whose tunnel is broken still passes.
        case direct
    }

    public let type: CheckType
    /// Through the tunnel, the default: a check that bypasses the path client traffic
    /// takes can pass while every flow sent to the backend is lost.
    public let via: Route
    /// The port probed; without it, the service's port.
    public private(set) var port: UInt16?
    /// From the start of one check to the start of the next.
    public let interval: Duration
    /// For the whole check: connect, TLS handshake, request and the awaited response.
    public let timeout: Duration
    /// Consecutive successes that bring a down backend up.
    public let rise: Int
    /// Consecutive failures that bring an up backend down.
    public let fall: Int
    /// Each wait is the interval times a random factor in 1 ± jitter, so checks started
    /// together (at boot, on a reload) spread out instead of hitting backends in bursts.
    public let jitter: Double
    /// The state of a backend before its checks have decided: `down` sends it no new
    /// flows until it has passed `rise` checks; `up` trusts it until it fails `fall`.
    public let startState: HealthStatus
    /// The request and expectations, for http and https; `nil` for tcp and none.
    public let http: HTTPCheck?

    public static let defaultInterval = Duration.seconds(2)
    public static let defaultTimeout = Duration.seconds(1)
    public static let defaultRise = 2
    public static let defaultFall = 3
    public static let defaultJitter = 0.1
    /// The largest jitter: beyond it an interval could shrink to nothing.
    public static let maximumJitter = 0.5

    /// A backend managed by hand: always up, never probed.
    public static let none = HealthCheckDefinition(uncheckedType: .none)

    /// - Parameter http: for http and https; `nil` there means `HTTPCheck()` (GET /, 200-399).
    public init(
        type: CheckType, port: UInt16? = nil, interval: Duration = defaultInterval, timeout: Duration = defaultTimeout,
        rise: Int = defaultRise, fall: Int = defaultFall, jitter: Double = defaultJitter,
        startState: HealthStatus = .down, http: HTTPCheck? = nil, via: Route = .tunnel
    ) throws(HealthCheckConfigError) {
        if type != .http && type != .https && http != nil {
            throw HealthCheckConfigError(
                "path",
                "method, path, host, headers, expect_status and body_contains apply only to http and https checks")
        }
        if type == .none {
            guard port == nil else { throw HealthCheckConfigError("port", "port does not apply to type none") }
            guard via == .tunnel else { throw HealthCheckConfigError("via", "via does not apply to type none") }
            self = .none
            return
        }
        if port == 0 { throw HealthCheckConfigError("port", "port must be between 1 and 65535 (got 0)") }
        for (field, value) in [("interval", interval), ("timeout", timeout)] where value <= .zero {
            throw HealthCheckConfigError(
                field, "\(field) must be greater than zero (got \(DurationText.format(value)))")
        }
        guard timeout < interval else {
            let (timeoutText, intervalText) = (DurationText.format(timeout), DurationText.format(interval))
            throw HealthCheckConfigError(
                "timeout", "timeout (\(timeoutText)) must be less than interval (\(intervalText))")
        }
        for (field, value) in [("rise", rise), ("fall", fall)] where value < 1 {
            throw HealthCheckConfigError(field, "\(field) must be at least 1 (got \(value))")
        }
        guard (0...Self.maximumJitter).contains(jitter) else {
            throw HealthCheckConfigError(
                "jitter", "jitter must be between 0 and \(Self.maximumJitter) (got \(jitter))")
        }
        if type == .http, http?.verifyTLS == true {
            throw HealthCheckConfigError("verify_tls", "verify_tls applies only to https checks")
        }
        if type == .http, http?.sni != nil { throw HealthCheckConfigError("sni", "sni applies only to https checks") }
        self.type = type
        self.via = via
        self.port = port
        self.interval = interval
        self.timeout = timeout
        self.rise = rise
        self.fall = fall
        self.jitter = jitter
        self.startState = startState
        self.http = type == .tcp ? nil : http ?? .standard
    }

    /// Every `none` definition is this one value, so their hashes agree.
    private init(uncheckedType type: CheckType) {
        self.type = type
        self.via = .tunnel
        self.port = nil
        self.interval = Self.defaultInterval
        self.timeout = Self.defaultTimeout
        self.rise = Self.defaultRise
        self.fall = Self.defaultFall
        self.jitter = 0
        self.startState = .up
        self.http = nil
    }

    /// This definition for a target whose port is already resolved: two services that
    /// reach the same backend port, one through `port` and one through its own port,
    /// then share a checker.
    func withoutPort() -> HealthCheckDefinition {
        var copy = self
        copy.port = nil
        return copy
    }
}
