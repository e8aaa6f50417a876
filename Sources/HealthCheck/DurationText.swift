/// Durations as the configuration spells them: a number and a unit, `500ms`, `2s`,
/// `1.5s`, `1m`.
///
/// The unit is required: a bare `interval: 2` reads as seconds to one operator and
/// milliseconds to the next, and guessing wrong by a factor of 1000 is how a check floods
/// a backend or never runs.
enum DurationText {
    static func parse(_ text: String, field: String) throws(HealthCheckConfigError) -> Duration {
        let units: [(suffix: String, milliseconds: Double)] = [("ms", 1), ("s", 1000), ("m", 60_000)]
        for unit in units where text.hasSuffix(unit.suffix) {
            let number = text.dropLast(unit.suffix.count)
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "-") }),
                  let value = Double(number), value.isFinite
            else { break }
            return .microseconds(Int64((value * unit.milliseconds * 1000).rounded()))
        }
        throw HealthCheckConfigError(field, "\(field) \"\(text)\": expected a duration such as 500ms, 2s or 1m")
    }

    /// The shortest exact spelling that `parse` reads back: `2s`, `1m`, `250ms`, `0.5ms`.
    static func format(_ duration: Duration) -> String {
        let microseconds = duration.microseconds
        if microseconds != 0, microseconds % 60_000_000 == 0 { return "\(microseconds / 60_000_000)m" }
        if microseconds % 1_000_000 == 0 { return "\(microseconds / 1_000_000)s" }
        if microseconds % 1000 == 0 { return "\(microseconds / 1000)ms" }
        return "\(Double(microseconds) / 1000)ms"
    }
}

extension Duration {
    /// Whole microseconds, rounded towards zero: the resolution of every check setting.
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    /// Milliseconds with fractions, for latencies in reasons and status output.
    var milliseconds: Double { Double(microseconds) / 1000 }
}
