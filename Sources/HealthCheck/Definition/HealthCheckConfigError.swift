/// A health check setting that cannot be used, with the one-line message an operator
/// reads next to the service it belongs to.
///
/// Every definition is validated when it is built or decoded, so an invalid one never
/// reaches the monitor: a configuration that fails here changes nothing. `field` is the
/// configuration key at fault (as spelled in the file), for tools that point at it.
public struct HealthCheckConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The configuration key at fault, e.g. `expect_status`.
    public let field: String
    /// One line, naming the field and the offending value.
    public let message: String

    init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { message }
}
