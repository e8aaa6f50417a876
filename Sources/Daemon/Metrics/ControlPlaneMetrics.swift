import HealthCheck
import Prometheus

/// The metrics lbd counts as events happen, on their own registry: edits, reloads, state
/// writes, check latencies. Every series exists from the start, at zero, so rates and
/// alerts have something to compare against.
public struct ControlPlaneMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let edits: Outcomes
    let reloads: Outcomes
    let stateWrites: Outcomes
    /// One set per path a check takes (`via`: through the tunnel or to the backend's own
    /// address), one per check type in each (`none` has none); picked with a switch, not
    /// looked up in a dictionary whose String-backed keys would be hashed thousands of
    /// times a second.
    private let tunnelCheckDurations, directCheckDurations: CheckDurations
    /// Checks not run for an error of the LB host's own (never counted against a backend).
    private let checkerErrors: Counter

    /// Counters of one kind of event by result: `ok`, the failure's label, and for
    /// edits `refused` (invalid input, as opposed to lbd failing to carry it out).
    struct Outcomes: Sendable {
        let ok: Counter
        let failed: Counter
        let refused: Counter?

        init(_ registry: PrometheusCollectorRegistry, _ name: String, help: String, failed: String, refused: Bool = false) {
            let descriptor = MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
            ok = registry.makeCounter(descriptor: descriptor, labels: [("result", "ok")])
            self.failed = registry.makeCounter(descriptor: descriptor, labels: [("result", failed)])
            self.refused = refused ? registry.makeCounter(descriptor: descriptor, labels: [("result", "refused")]) : nil
        }
    }

    /// The latency histograms of the checks of one path, by type.
    struct CheckDurations: Sendable {
        let tcp, http, https: DurationHistogram

        init(_ registry: PrometheusCollectorRegistry, via route: HealthCheckDefinition.Route) {
            let descriptor = MetricNameDescriptor(metricName: "lbd_health_check_duration_seconds", unitName: "",
                                                  helpText: "Latency of every health check, failed ones included.")
            let histogram = { (type: HealthCheckDefinition.CheckType) in
                registry.makeDurationHistogram(descriptor: descriptor, labels: [("type", type.rawValue), ("via", route.rawValue)],
                                               buckets: ControlPlaneMetrics.checkBuckets)
            }
            tcp = histogram(.tcp)
            http = histogram(.http)
            https = histogram(.https)
        }

        func record(_ type: HealthCheckDefinition.CheckType, _ latency: Duration) {
            switch type {
            case .tcp: tcp.record(latency)
            case .http: http.record(latency)
            case .https: https.record(latency)
            case .none: break
            }
        }
    }

    /// Check latency buckets, in seconds: loopback answers in well under a millisecond,
    /// a timeout is at most the interval.
    static let checkBuckets: [Duration] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
        .map { Duration.nanoseconds(Int64($0 * 1e9)) }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        edits = Outcomes(registry, "lbd_api_edits_total", help: "Edits and applies through the API, by result.",
                         failed: "error", refused: true)
        reloads = Outcomes(registry, "lbd_config_reloads_total", help: "Reloads of the configuration (lbd reload, SIGHUP), by result.",
                           failed: "refused")
        stateWrites = Outcomes(registry, "lbd_state_writes_total", help: "Saves of the state file, by result.",
                               failed: "error")
        tunnelCheckDurations = CheckDurations(registry, via: .tunnel)
        directCheckDurations = CheckDurations(registry, via: .direct)
        checkerErrors = registry.makeCounter(descriptor: MetricNameDescriptor(
            metricName: "lbd_health_checker_errors_total", unitName: "",
            helpText: "Checks not run for an error of the LB host's own (descriptors, buffers, ports); "
                + "never counted against a backend."))
    }

    /// For `HealthMonitor(onResult:)`: every check's latency, and the checks the host's
    /// own errors kept from running (they have no latency worth a bucket).
    public func recordCheck(_ target: HealthTarget, _ result: ProbeResult) {
        if result.failure?.isLocal == true {
            checkerErrors.increment()
            return
        }
        let durations = target.tunnel == nil ? directCheckDurations : tunnelCheckDurations
        durations.record(target.definition.type, result.latency)
    }
}
