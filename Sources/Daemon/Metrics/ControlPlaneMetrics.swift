import CoreMetrics
import HealthCheck
import Prometheus

/// The metrics lbd counts as events happen (swift-metrics, on lbd's Prometheus
/// registry): edits, reloads, state writes, check latencies. Every series exists from
/// the start, at zero, so rates and alerts have something to compare against.
public struct ControlPlaneMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let edits: Outcomes
    let reloads: Outcomes
    let stateWrites: Outcomes
    private let checkDurations: [HealthCheckDefinition.CheckType: CoreMetrics.Timer]

    /// Counters of one kind of event by result: `ok`, the failure's label, and for
    /// edits `refused` (invalid input, as opposed to lbd failing to carry it out).
    struct Outcomes: Sendable {
        let ok: CoreMetrics.Counter
        let failed: CoreMetrics.Counter
        let refused: CoreMetrics.Counter?

        init(_ name: String, factory: PrometheusMetricsFactory, failed: String, refused: Bool = false) {
            ok = CoreMetrics.Counter(label: name, dimensions: [("result", "ok")], factory: factory)
            self.failed = CoreMetrics.Counter(label: name, dimensions: [("result", failed)], factory: factory)
            self.refused = refused ? CoreMetrics.Counter(label: name, dimensions: [("result", "refused")], factory: factory) : nil
        }
    }

    /// Check latency buckets, in seconds: loopback answers in well under a millisecond,
    /// a timeout is at most the interval.
    static let checkBuckets: [Duration] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
        .map { Duration.nanoseconds(Int64($0 * 1e9)) }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = ["lbd_health_check_duration_seconds": Self.checkBuckets]
        edits = Outcomes("lbd_api_edits_total", factory: factory, failed: "error", refused: true)
        reloads = Outcomes("lbd_config_reloads_total", factory: factory, failed: "refused")
        stateWrites = Outcomes("lbd_state_writes_total", factory: factory, failed: "error")
        var timers: [HealthCheckDefinition.CheckType: CoreMetrics.Timer] = [:]
        for type in HealthCheckDefinition.CheckType.allCases where type != .none {
            timers[type] = CoreMetrics.Timer(label: "lbd_health_check_duration_seconds", dimensions: [("type", type.rawValue)],
                                 preferredDisplayUnit: .seconds, factory: factory)
        }
        checkDurations = timers
    }

    /// For `HealthMonitor(onResult:)`: every check's latency.
    public func recordCheck(_ target: HealthTarget, _ result: ProbeResult) {
        checkDurations[target.definition.type]?.recordNanoseconds(result.latency.nanoseconds)
    }
}
