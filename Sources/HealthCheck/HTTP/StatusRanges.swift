/// The HTTP statuses an http or https check accepts: codes and inclusive ranges,
/// `expect_status: "200-399"`, `"200,204"`, or a list `[200, "300-302"]`.
///
/// Kept sorted and merged, so two spellings of the same set (`"200-204,205"` and
/// `"200-205"`) are equal and their checks are shared rather than run twice.
public struct StatusRanges: Sendable, Hashable, CustomStringConvertible {
    public private(set) var ranges: [ClosedRange<Int>]

    /// 200-399: a redirect is an answer from a live application, and redirects are not
    /// followed (following one would check some other server).
    public static let `default` = StatusRanges(merging: [200...399])

    /// Reads one comma-separated spelling, e.g. `"200-299,304"`.
    public init(parsing text: String) throws(HealthCheckConfigError) {
        try self.init(parsing: [text])
    }

    /// Reads several spellings, each a code, a range or a comma-separated list of them.
    public init(parsing items: [String]) throws(HealthCheckConfigError) {
        var ranges: [ClosedRange<Int>] = []
        for item in items {
            for part in item.split(separator: ",", omittingEmptySubsequences: false) {
                ranges.append(try Self.range(String(part), in: item))
            }
        }
        guard !ranges.isEmpty else {
            throw HealthCheckConfigError("expect_status", "expect_status must list at least one status code or range")
        }
        self.init(merging: ranges)
    }

    private init(merging ranges: [ClosedRange<Int>]) {
        var merged: [ClosedRange<Int>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        self.ranges = merged
    }

    public func contains(_ status: Int) -> Bool {
        ranges.contains { $0.contains(status) }
    }

    /// The canonical spelling, which `init(parsing:)` reads back: `200-399`, `200,204`.
    public var description: String {
        ranges.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
    }

    private static func range(_ part: String, in item: String) throws(HealthCheckConfigError) -> ClosedRange<Int> {
        let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { $0.trimmingSpaces }
        guard (1...2).contains(bounds.count), let low = code(bounds[0]), let high = code(bounds[bounds.count - 1]) else {
            throw HealthCheckConfigError(
                "expect_status",
                "expect_status \"\(item)\": expected a status code or a range such as 200 or 200-399")
        }
        for code in [low, high] where !(100...599).contains(code) {
            throw HealthCheckConfigError(
                "expect_status", "expect_status \"\(item)\": \(code) is not an HTTP status code (100-599)")
        }
        guard low <= high else {
            throw HealthCheckConfigError(
                "expect_status", "expect_status \"\(item)\": the range \(low)-\(high) starts after it ends")
        }
        return low...high
    }

    private static func code(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 9, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }
}

extension Substring {
    /// Without the spaces around it, so `"200, 204"` reads like `"200,204"`.
    var trimmingSpaces: Substring {
        guard let first = firstIndex(where: { $0 != " " }), let last = lastIndex(where: { $0 != " " }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}
