/// Durations as operators write them: a whole number and one unit, `500ms`, `30s`,
/// `2m`, `1h`. One unit keeps the form unambiguous (`1m30s` is written `90s`).
enum DurationText {
    private static let units: [(suffix: String, duration: Duration)] = [
        ("ms", .milliseconds(1)), ("s", .seconds(1)), ("m", .seconds(60)), ("h", .seconds(3600)),
    ]

    static func parse(_ text: String) throws(ParseError) -> Duration {
        // "ms" before "m" and "s": the longest suffix that matches.
        let match = units.sorted { $0.suffix.count > $1.suffix.count }.first { text.hasSuffix($0.suffix) }
        guard let match else {
            throw ParseError("bad duration '\(text)': expected a whole number and a unit (ms, s, m, h), e.g. 30s")
        }
        let number = text.dropLast(match.suffix.count)
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(number),
              value <= 1_000_000_000 else {
            throw ParseError("bad duration '\(text)': expected a whole number and a unit (ms, s, m, h), e.g. 30s")
        }
        return match.duration * value
    }

    /// The largest unit that represents `duration` exactly (to the millisecond, the
    /// smallest unit); `parse` reads it back.
    static func format(_ duration: Duration) -> String {
        let milliseconds = duration / .milliseconds(1)
        if milliseconds == 0 { return "0s" }
        for (suffix, unit) in units.reversed() where suffix != "ms" {
            let size = unit / .milliseconds(1)
            if milliseconds.truncatingRemainder(dividingBy: size) == 0 { return "\(Int(milliseconds / size))\(suffix)" }
        }
        return "\(Int(milliseconds))ms"
    }
}
