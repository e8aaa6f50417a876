import Foundation

/// The figures of the runs, by mode and metric, as the tools printed them: a median is
/// one of the runs (the lower middle of an even count), printed as it was measured.
struct Figures {
    private var runs: [String: [String]] = [:]

    private static func key(_ mode: String, _ metric: String) -> String { mode + " " + metric }

    mutating func add(_ mode: String, _ metric: String, _ figure: String) {
        runs[Self.key(mode, metric), default: []].append(figure)
    }

    func median(_ mode: String, _ metric: String) -> String? {
        guard let values = runs[Self.key(mode, metric)], !values.isEmpty else { return nil }
        let sorted = values.sorted { (Double($0) ?? 0) < (Double($1) ?? 0) }
        return sorted[(sorted.count + 1) / 2 - 1]
    }

    /// `bench-e2e MODE METRIC=median runs=a,b,c`; nil if the mode did not run.
    func record(_ mode: String, _ metric: String) -> String? {
        guard let median = median(mode, metric), let values = runs[Self.key(mode, metric)] else { return nil }
        return "bench-e2e \(mode) \(metric)=\(median) runs=\(values.joined(separator: ","))"
    }

    /// `ratio A/B METRIC=x rounds=r1,r2,…`: of the medians, and round by round (the same
    /// minutes of the machine); nil unless both modes ran.
    func ratio(_ a: String, _ b: String, _ metric: String) -> String? {
        guard let medianA = median(a, metric).flatMap(Double.init), let medianB = median(b, metric).flatMap(Double.init),
              let runsA = runs[Self.key(a, metric)], let runsB = runs[Self.key(b, metric)] else { return nil }
        let rounds = zip(runsA, runsB).map { Self.quotient(Double($0) ?? 0, Double($1) ?? 0) }
        return "ratio \(a)/\(b) \(metric)=\(Self.quotient(medianA, medianB)) rounds=\(rounds.joined(separator: ","))"
    }

    private static func quotient(_ a: Double, _ b: Double) -> String {
        String(format: "%.2f", b > 0 ? a / b : 0)
    }
}
