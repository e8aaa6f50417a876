import HealthCheck
import Yams

/// Reads a composed YAML tree into typed values, collecting every error with the
/// position of the node it concerns instead of stopping at the first.
///
/// Values are read from the scalars' text, never from YAML's implicit typing, which
/// would turn `02:00:00:00:00:10` or `1:30` into sexagesimal numbers and `no` into
/// false: each key says which text it accepts.
struct YAMLReader {
    private(set) var errors: [ConfigError] = []

    /// The errors in file order.
    var failure: ConfigErrors {
        ConfigErrors(errors: errors.enumerated().sorted { left, right in
            (left.element.line, left.element.column, left.offset) < (right.element.line, right.element.column, right.offset)
        }.map(\.element))
    }

    /// The document's root node; nil for an empty document or a syntax error (reported).
    mutating func compose(_ text: String) -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            errors.append(Self.configError(error, in: text))
        } catch {
            errors.append(ConfigError(line: 1, column: 1, message: "cannot read YAML: \(error)"))
        }
        return nil
    }

    mutating func report(_ message: String, at node: Node) {
        report(message, at: node.mark)
    }

    /// A health check block (`health_check:`), read by the HealthCheck module's decoder;
    /// its error is reported at the field it names.
    mutating func healthCheck<T: Decodable>(_ node: Node, name: String, _ type: T.Type) -> T? {
        do {
            return try YAMLDecoder().decode(T.self, from: node)
        } catch let error as HealthCheckConfigError {
            let field = node.mapping?.first { $0.key.string == error.field }?.value
            report("\(name): \(error.message)", at: field ?? node)
        } catch {
            report("\(name): expected a mapping of health check fields (type: tcp, interval: 2s, ...)", at: node)
        }
        return nil
    }

    mutating func report(_ message: String, at mark: Mark?) {
        errors.append(ConfigError(line: mark?.line ?? 1, column: mark?.column ?? 1, message: message))
    }

    /// The entries of the mapping `node` by key. Keys not in `allowed` are reported (a
    /// misspelt key silently ignored is a setting silently not applied); nil if `node`
    /// is not a mapping.
    mutating func mapping(_ node: Node, name: String, allowed: [String]) -> Fields? {
        guard let mapping = node.mapping else {
            report("\(name): expected a mapping (key: value lines), found \(Self.kind(of: node))", at: node)
            return nil
        }
        var fields = Fields()
        for (key, value) in mapping {
            guard let text = key.scalar?.string else {
                report("\(name): keys must be plain words", at: key)
                continue
            }
            guard allowed.contains(text) else {
                report("unknown key '\(text)' in \(name) (expected one of: \(allowed.joined(separator: ", ")))", at: key)
                continue
            }
            fields.values[text] = value
        }
        return fields
    }

    /// The elements of the sequence `node`; nil if it is not a sequence.
    mutating func sequence(_ node: Node, name: String) -> [Node]? {
        guard let sequence = node.sequence else {
            report("\(name): expected a list, found \(Self.kind(of: node))", at: node)
            return nil
        }
        return Array(sequence)
    }

    /// The text of the scalar `node`; nil (reported) for a list, a mapping or null.
    mutating func text(_ node: Node, key: String) -> String? {
        guard let scalar = node.scalar else {
            report("\(key): expected a single value, found \(Self.kind(of: node))", at: node)
            return nil
        }
        guard node.null == nil else {
            report("\(key): no value given; remove the key to use the default", at: node)
            return nil
        }
        return scalar.string
    }

    /// A decimal integer, sign allowed (ranges are checked where the meaning is known).
    mutating func integer(_ node: Node, key: String) -> Int? {
        guard let text = text(node, key: key) else { return nil }
        guard let value = Self.decimal(text) else {
            report("\(key): expected an integer, got '\(text)'", at: node)
            return nil
        }
        return value
    }

    /// A decimal integer in `range`; anything else is reported as a bad `what`.
    mutating func integer(_ node: Node, key: String, in range: ClosedRange<Int>, what: String) -> Int? {
        value(node, key: key) { text throws(ParseError) in
            guard let value = Self.decimal(text), range.contains(value) else {
                throw ParseError("bad \(what) '\(text)': expected an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            return value
        }
    }

    private static func decimal(_ text: String) -> Int? {
        let digits = text.hasPrefix("-") ? text.dropFirst() : text[...]
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }

    /// `true` or `false`, nothing else (not YAML 1.1's yes/no/on/off).
    mutating func boolean(_ node: Node, key: String) -> Bool? {
        guard let text = text(node, key: key) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default:
            report("\(key): expected true or false, got '\(text)'", at: node)
            return nil
        }
    }

    /// A value read from text by `parse`, whose error message names the value.
    mutating func value<T>(_ node: Node, key: String, _ parse: (String) throws(ParseError) -> T) -> T? {
        guard let text = text(node, key: key) else { return nil }
        do {
            return try parse(text)
        } catch {
            report("\(key): \(error.description)", at: node)
            return nil
        }
    }

    private static func kind(of node: Node) -> String {
        switch node {
        case .scalar: "a single value"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// A Yams error as a positioned one-line message. An unquoted IPv6 VIP
    /// (`vip: [2001:db8::1]:443/tcp`) reads as a YAML list followed by junk: the
    /// message says to quote it.
    static func configError(_ error: YamlError, in text: String) -> ConfigError {
        let (position, problem): ((line: Int, column: Int), String) = switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            ((mark.line, mark.column), (context.map { "\($0.text.trimmingTrailingSpace) at \($0.mark.line):\($0.mark.column): " } ?? "") + problem)
        case .duplicatedKeysInMapping(let duplicates, let context):
            ((context.mark.line, context.mark.column), "key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) appears more than once in a mapping")
        default:
            ((1, 1), String(describing: error))
        }
        let line = text.split(separator: "\n", omittingEmptySubsequences: false)
            .dropFirst(max(position.line - 1, 0)).first.map(String.init) ?? ""
        let hint = line.contains("[") && line.contains("]:")
            ? " (quote IPv6 VIPs: \"[2001:db8::10]:443/tcp\")" : ""
        return ConfigError(line: position.line, column: position.column, message: "YAML syntax: \(problem)\(hint)")
    }
}

/// The entries of one mapping, by key.
struct Fields {
    var values: [String: Node] = [:]

    subscript(key: String) -> Node? { values[key] }
}

private extension String {
    var trimmingTrailingSpace: String {
        var text = self
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}
