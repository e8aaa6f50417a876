import Foundation
import Prometheus

/// The values one scrape read, in order.
struct ScrapeSamples {
    enum Value {
        /// A counter's total.
        case total(UInt64)
        /// A gauge's level.
        case level(Double)
    }

    struct Sample {
        let key: SeriesKey
        let value: Value
    }

    private(set) var samples: [Sample] = []

    /// A total that only grows while the datapath lives (a kernel counter, a count kept since start).
    mutating func counter(_ name: String, _ labels: [(String, String)], _ value: UInt64) {
        samples.append(Sample(key: SeriesKey(name: name, labels: labels), value: .total(value)))
    }

    mutating func gauge(_ name: String, _ labels: [(String, String)], _ value: Double) {
        samples.append(Sample(key: SeriesKey(name: name, labels: labels), value: .level(value)))
    }
}

struct SeriesKey: Hashable {
    let name: String
    let labelNames: [String]
    let labelValues: [String]

    init(name: String, labels: [(String, String)]) {
        self.name = name
        labelNames = labels.map(\.0)
        labelValues = labels.map(\.1)
    }

    var labels: [(String, String)] { Array(zip(labelNames, labelValues)) }
}

/// The scrape-time series, kept on one registry from scrape to scrape: a series is made
/// once (the registry's cost per new series grows with its family), then only set; one
/// a scrape no longer reports (a VIP or backend removed) is unregistered.
///
/// Counters carry totals read elsewhere (the kernel's per-CPU counters): each is raised
/// by what the total grew since the last scrape, and restarted if the total went back
/// (the datapath was reloaded).
final class ScrapeSeries: @unchecked Sendable {
    private let lock = NSLock()
    private let registry = PrometheusCollectorRegistry()
    private let help: [String: String]
    private var counters: [SeriesKey: (counter: Counter, total: UInt64)] = [:]
    private var gauges: [SeriesKey: Gauge] = [:]

    init(help: [String: String]) {
        self.help = help
    }

    /// Applies `samples` and returns the exposition of every series.
    func update(_ samples: ScrapeSamples) -> [UInt8] {
        lock.withLock {
            var seenCounters = Set<SeriesKey>(), seenGauges = Set<SeriesKey>()
            for sample in samples.samples {
                switch sample.value {
                case .total(let total):
                    seenCounters.insert(sample.key)
                    setCounter(sample.key, to: total)
                case .level(let level):
                    seenGauges.insert(sample.key)
                    gauge(sample.key).set(level)
                }
            }
            for (key, entry) in counters where !seenCounters.contains(key) {
                registry.unregisterCounter(entry.counter)
                counters[key] = nil
            }
            for (key, gauge) in gauges where !seenGauges.contains(key) {
                registry.unregisterGauge(gauge)
                gauges[key] = nil
            }
            return registry.emitToBuffer()
        }
    }

    private func setCounter(_ key: SeriesKey, to total: UInt64) {
        guard var entry = counters[key] else {
            let counter = registry.makeCounter(descriptor: descriptor(key.name), labels: key.labels)
            counter.increment(by: Int64(clamping: total))
            counters[key] = (counter, total)
            return
        }
        if total < entry.total {
            entry.counter.reset()
            entry.counter.increment(by: Int64(clamping: total))
        } else if total > entry.total {
            entry.counter.increment(by: Int64(clamping: total - entry.total))
        }
        entry.total = total
        counters[key] = entry
    }

    private func gauge(_ key: SeriesKey) -> Gauge {
        if let gauge = gauges[key] { return gauge }
        let gauge = registry.makeGauge(descriptor: descriptor(key.name), labels: key.labels)
        gauges[key] = gauge
        return gauge
    }

    private func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help[name] ?? "")
    }
}
