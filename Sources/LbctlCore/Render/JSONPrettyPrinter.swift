import Foundation

/// lbd's JSON for `--json`: re-indented with object keys sorted, every number and
/// string kept byte for byte. Re-encoding through Foundation could turn a 64-bit
/// counter into a rounded double or change a float's digits; scripts see what lbd sent.
enum JSONPrettyPrinter {
    /// Two-space indent, `"key": value`, one array element per line, `{}` and `[]` when
    /// empty, no final newline.
    static func format(_ json: [UInt8]) throws(Failure) -> String {
        var parser = Parser(bytes: json)
        do {
            let value = try parser.document()
            var output = ""
            write(value, indent: "", to: &output)
            return output
        } catch {
            throw .daemon("lbd sent malformed JSON: \(error.reason) at byte \(error.offset)")
        }
    }

    /// A parsed value; scalars and keys are their source text.
    fileprivate indirect enum Value {
        case scalar(String)
        case array([Value])
        /// Sorted by key.
        case object([(key: String, value: Value)])
    }

    private static func write(_ value: Value, indent: String, to output: inout String) {
        let inner = indent + "  "
        switch value {
        case .scalar(let text):
            output += text
        case .array(let elements) where elements.isEmpty:
            output += "[]"
        case .object(let members) where members.isEmpty:
            output += "{}"
        case .array(let elements):
            output += "[\n"
            for (index, element) in elements.enumerated() {
                output += inner
                write(element, indent: inner, to: &output)
                output += index == elements.count - 1 ? "\n" : ",\n"
            }
            output += indent + "]"
        case .object(let members):
            output += "{\n"
            for (index, member) in members.enumerated() {
                output += inner + member.key + ": "
                write(member.value, indent: inner, to: &output)
                output += index == members.count - 1 ? "\n" : ",\n"
            }
            output += indent + "}"
        }
    }

    fileprivate struct SyntaxError: Error {
        let reason: String
        let offset: Int
    }

    /// RFC 8259, strictly: one value, nothing after it but whitespace.
    private struct Parser {
        let bytes: [UInt8]
        var position = 0
        /// Far deeper than any answer of lbd; keeps a hostile peer from exhausting the stack.
        private static let maximumDepth = 256

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        mutating func document() throws(SyntaxError) -> Value {
            let value = try value(depth: 0)
            skipWhitespace()
            guard position == bytes.count else { throw fail("unexpected text after the value") }
            return value
        }

        private mutating func value(depth: Int) throws(SyntaxError) -> Value {
            guard depth < Self.maximumDepth else { throw fail("nested too deeply") }
            skipWhitespace()
            guard position < bytes.count else { throw fail("unexpected end") }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .scalar(try string())
            case UInt8(ascii: "t"): return .scalar(try literal("true"))
            case UInt8(ascii: "f"): return .scalar(try literal("false"))
            case UInt8(ascii: "n"): return .scalar(try literal("null"))
            default: return .scalar(try number())
            }
        }

        private mutating func object(depth: Int) throws(SyntaxError) -> Value {
            position += 1
            var members: [(sortKey: String, key: String, value: Value)] = []
            skipWhitespace()
            if peek(UInt8(ascii: "}")) {
                position += 1
                return .object([])
            }
            while true {
                skipWhitespace()
                guard peek(UInt8(ascii: "\"")) else { throw fail("expected a key") }
                let key = try string()
                skipWhitespace()
                guard peek(UInt8(ascii: ":")) else { throw fail("expected ':'") }
                position += 1
                let member = try value(depth: depth + 1)
                // Sorted by the key's value: escapes decoded, as `--json` readers see it.
                let sortKey = (try? JSONDecoder().decode(String.self, from: Data(key.utf8))) ?? key
                members.append((sortKey, key, member))
                skipWhitespace()
                guard position < bytes.count else { throw fail("unexpected end") }
                position += 1
                if bytes[position - 1] == UInt8(ascii: "}") { break }
                guard bytes[position - 1] == UInt8(ascii: ",") else { position -= 1; throw fail("expected ',' or '}'") }
            }
            return .object(members.sorted { $0.sortKey < $1.sortKey }.map { ($0.key, $0.value) })
        }

        private mutating func array(depth: Int) throws(SyntaxError) -> Value {
            position += 1
            var elements: [Value] = []
            skipWhitespace()
            if peek(UInt8(ascii: "]")) {
                position += 1
                return .array([])
            }
            while true {
                elements.append(try value(depth: depth + 1))
                skipWhitespace()
                guard position < bytes.count else { throw fail("unexpected end") }
                position += 1
                if bytes[position - 1] == UInt8(ascii: "]") { break }
                guard bytes[position - 1] == UInt8(ascii: ",") else { position -= 1; throw fail("expected ',' or ']'") }
            }
            return .array(elements)
        }

        /// The string's source text, quotes included.
        private mutating func string() throws(SyntaxError) -> String {
            let start = position
            position += 1
            while position < bytes.count {
                let byte = bytes[position]
                guard byte >= 0x20 else { throw fail("control character in a string") }
                position += 1
                if byte == UInt8(ascii: "\"") { return String(decoding: bytes[start..<position], as: UTF8.self) }
                if byte == UInt8(ascii: "\\") {
                    guard position < bytes.count else { break }
                    let escape = bytes[position]
                    if escape == UInt8(ascii: "u") {
                        let digits = bytes[(position + 1)...].prefix(4)
                        guard digits.count == 4, digits.allSatisfy(Self.isHexDigit) else { throw fail("bad \\u escape") }
                        position += 5
                    } else {
                        guard Array("\"\\/bfnrt".utf8).contains(escape) else { throw fail("bad escape") }
                        position += 1
                    }
                }
            }
            throw fail("unterminated string")
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, as written.
        private mutating func number() throws(SyntaxError) -> String {
            let start = position
            if peek(UInt8(ascii: "-")) { position += 1 }
            if peek(UInt8(ascii: "0")) {
                position += 1
            } else {
                guard digits() > 0 else { throw fail("expected a value") }
            }
            if peek(UInt8(ascii: ".")) {
                position += 1
                guard digits() > 0 else { throw fail("expected digits after '.'") }
            }
            if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
                position += 1
                if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { position += 1 }
                guard digits() > 0 else { throw fail("expected an exponent") }
            }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }

        private mutating func digits() -> Int {
            let start = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                position += 1
            }
            return position - start
        }

        private mutating func literal(_ word: String) throws(SyntaxError) -> String {
            guard bytes[position...].starts(with: word.utf8) else { throw fail("expected a value") }
            position += word.utf8.count
            return word
        }

        private mutating func skipWhitespace() {
            while position < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[position]) {
                position += 1
            }
        }

        private func peek(_ byte: UInt8) -> Bool {
            position < bytes.count && bytes[position] == byte
        }

        private func fail(_ reason: String) -> SyntaxError {
            SyntaxError(reason: reason, offset: position)
        }

        private static func isHexDigit(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
        }
    }
}
