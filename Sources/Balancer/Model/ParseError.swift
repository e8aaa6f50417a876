import Foundation

/// A value written by an operator (address, VIP, duration, prefix, MAC…) that could not
/// be read. `description` is one line naming the bad value and what was expected, e.g.
/// `bad IPv4 address '10.0.0.256': 256 is above 255`; configuration errors put the
/// file position in front of it.
public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    public let description: String

    init(_ description: String) {
        self.description = description
    }

    public var errorDescription: String? { description }
}
