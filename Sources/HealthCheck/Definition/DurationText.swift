/// Durations as the configuration spells them: a whole number and one unit, `500ms`,
/// `2s`, `1m` (the form the rest of lbd's configuration uses).
///
/// The unit is required: a bare `interval: 2` reads as seconds to one operator and
/// milliseconds to the next, and guessing wrong by a factor of 1000 is how a check floods
/// a backend or never runs. A minus sign is read, so that `-1s` is refused for what it
/// is (out of range) rather than as a typo. One parser for every duration lbd reads.
public enum DurationText {
    private static let units: [(suffix: String, duration: Duration)] = [
        ("ms", .milliseconds(1)), ("s", .seconds(1)), ("m", .seconds(60)), ("h", .seconds(3600)),
    ]

    /// The duration `text` spells, nil when it is not a whole number (at most nine
    /// digits, optionally negative) and one unit.
    public static func value(of text: String) -> Duration? {
        // "ms" before "m" and "s": the first suffix that matches is the longest.
        guard let unit = units.first(where: { text.hasSuffix($0.suffix) }) else { return nil }
        let number = text.dropLast(unit.suffix.count)
        let digits = number.hasPrefix("-") ? number.dropFirst() : number
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let value = Int(number) else { return nil }
        return unit.duration * value
    }

    static func parse(_ text: String, field: String) throws(HealthCheckConfigError) -> Duration {
        guard let duration = value(of: text) else {
            throw HealthCheckConfigError(field, "\(field) \"\(text)\": expected a whole number and a unit (ms, s, m, h), "
                + "such as 500ms or 2s")
        }
        return duration
    }

    /// The largest unit that spells `duration` exactly: `2s`, `1m`, `250ms`.
    public static func format(_ duration: Duration) -> String {
        let milliseconds = duration.microseconds / 1000
        for (suffix, unit) in units.reversed() {
            let size = unit.microseconds / 1000
            if milliseconds % size == 0 && (milliseconds != 0 || suffix == "s") {
                return "\(milliseconds / size)\(suffix)"
            }
        }
        return "\(milliseconds)ms"
    }
}

extension Duration {
    /// Whole microseconds, rounded towards zero.
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Milliseconds with fractions, for latencies in reasons and status output.
    var milliseconds: Double { Double(microseconds) / 1000 }
}
