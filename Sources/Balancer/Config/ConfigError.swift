import Foundation

/// A problem at a place in a YAML file (configuration or services), 1-based line and
/// column as editors count them. `lbd check` prints `formatted(file:)`, the compiler's
/// `FILE:LINE:COL: message`, which editors and CI logs turn into links.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    public let line: Int
    public let column: Int
    public let message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    /// `LINE:COL: message`.
    public var description: String { "\(line):\(column): \(message)" }
    public var errorDescription: String? { description }

    /// `FILE:LINE:COL: message`.
    public func formatted(file: String) -> String { "\(file):\(description)" }
}

/// Every problem found in a file, in file order; never empty.
public struct ConfigErrors: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    public let errors: [ConfigError]

    /// One `LINE:COL: message` per line.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
    public var errorDescription: String? { description }

    /// One `FILE:LINE:COL: message` per line.
    public func formatted(file: String) -> String {
        errors.map { $0.formatted(file: file) }.joined(separator: "\n")
    }
}
