import Foundation

/// How lbd writes its JSON answers, and how requests are written to it: keys sorted,
/// slashes as they are, integers as integers (64-bit counters exact).
public enum APIEncoding {
    /// An answer's body: the value's JSON, indented, and a newline. It is what
    /// `lbctl --json` prints, byte for byte.
    public static func answer(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Strings, numbers and booleans always encode.
        return ((try? encoder.encode(value)) ?? Data()) + Data("\n".utf8)
    }

    /// A request's body, on one line.
    public static func request(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map(Array.init) ?? []
    }
}
