import HealthCheck

extension DurationText {
    /// The duration `text` spells, or the error the configuration, the state file and
    /// lbctl report for it.
    public static func parse(_ text: String) throws(ParseError) -> Duration {
        guard let duration = value(of: text) else {
            throw ParseError("bad duration '\(text)': expected a whole number and a unit (ms, s, m, h), e.g. 30s")
        }
        return duration
    }
}
