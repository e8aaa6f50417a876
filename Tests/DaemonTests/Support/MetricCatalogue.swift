import Foundation
import TestSupport

/// A file of this repository, by its path from the top (e.g. "docs/metrics.md").
func repositoryPath(_ relative: String) -> String {
    SourceTree.root + "/" + relative
}

/// docs/metrics.md read as data, so that what lbd exports, the dashboard and the alert
/// rules are all checked against the one list: every metric named in backticks in the
/// first column of its tables, with the type from the second column.
struct MetricCatalogue: Equatable {
    /// Metric name → type (counter, gauge, histogram).
    var types: [String: String]

    init(markdown: String) {
        types = [:]
        for line in markdown.split(separator: "\n") where line.hasPrefix("|") {
            // "| `a`, `b` | counter | labels | meaning |" splits into "", names, type, ...
            let cells = line.split(separator: "|", omittingEmptySubsequences: false)
            guard cells.count > 2 else { continue }
            let type = cells[2].trimmingCharacters(in: .whitespaces)
            for match in cells[1].matches(of: /`([^`]+)`/) {
                types[String(match.output.1)] = type
            }
        }
    }

    static func load() throws -> MetricCatalogue {
        MetricCatalogue(markdown: try String(contentsOfFile: repositoryPath("docs/metrics.md"), encoding: .utf8))
    }

    var names: Set<String> { Set(types.keys) }

    /// The metrics a PromQL expression (or anything else) names: its `lbd_…` tokens, with a
    /// histogram's series (`_bucket`, `_sum`, `_count`) taken as the histogram itself.
    func metrics(in text: String) -> Set<String> {
        Set(text.matches(of: /lbd_[a-z0-9_]+/).map { baseName(String($0.output)) })
    }

    private func baseName(_ series: String) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where series.hasSuffix(suffix) {
            let base = String(series.dropLast(suffix.count))
            if types[base] == "histogram" { return base }
        }
        return series
    }
}
