import Foundation
import Logging

/// swift-log to stderr, one line per event, in `key=value` form (logfmt, the default):
///
///     level=info logger=lbd.reconciler msg="VIP installed" index=0 vip=10.0.0.10:80/tcp
///
/// or as one JSON object (`--log-format json`, for log shippers), keys sorted:
///
///     {"index":"0","level":"info","logger":"lbd.reconciler","msg":"VIP installed","ts":"…","vip":"10.0.0.10:80/tcp"}
///
/// One line per event keeps journald at one entry per event and makes the log greppable
/// by key (`journalctl -u lbd -o cat | grep vip=10.0.0.10`). Under systemd (`JOURNAL_STREAM`
/// is set) each line starts with the syslog priority, `<6>`, which journald turns into the
/// entry's priority (`journalctl -p warning` works) and strips; there is no timestamp then,
/// journald records one. Elsewhere each line starts with an RFC 3339 UTC timestamp.
public struct LineLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable {
        case keyvalue, json
    }

    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    private let label: String
    private let format: Format
    private let journal: Bool
    private let write: @Sendable (String) -> Void

    /// - Parameters:
    ///   - journal: prefix priorities instead of timestamps; by default when `JOURNAL_STREAM` is set.
    ///   - write: receives each line, newline included; stderr by default.
    public init(label: String, level: Logger.Level = .info, format: Format = .keyvalue,
                journal: Bool = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil,
                write: @escaping @Sendable (String) -> Void = LineLogHandler.standardError) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.journal = journal
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { $1 } }
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        if let error = event.error { fields["error"] = "\(error)" }
        let prefix = journal ? "<\(Self.priority(event.level))>" : ""
        switch format {
        case .keyvalue:
            var line = prefix + (journal ? "" : Self.timestamp() + " ")
            line += "level=\(event.level) logger=\(Self.quoted(label)) msg=\(Self.quoted(event.message.description))"
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
                line += " \(key)=\(Self.quoted(Self.text(value)))"
            }
            write(line + "\n")
        case .json:
            var object = fields.mapValues(Self.text)
            object["level"] = "\(event.level)"
            object["logger"] = label
            object["msg"] = event.message.description
            if !journal { object["ts"] = Self.timestamp() }
            write(prefix + Self.json(object) + "\n")
        }
    }

    /// One line of JSON, keys sorted; string values cannot fail to encode.
    private static func json(_ object: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(object)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// syslog(3) priorities.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// A value as is when it is one word, else in double quotes with `"`, `\` and
    /// control characters escaped, so a line always splits back into its fields.
    static func quoted(_ text: String) -> String {
        let plain = !text.isEmpty && text.unicodeScalars.allSatisfy { scalar in
            scalar.value > 0x20 && scalar.value != 0x7f && scalar != "\"" && scalar != "=" && scalar != "\\"
        }
        if plain { return text }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func text(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(text).joined(separator: ",")
        case .dictionary(let values): values.sorted { $0.key < $1.key }.map { "\($0.key):\(text($0.value))" }
            .joined(separator: ",")
        }
    }

    private static func timestamp() -> String {
        Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Writes `line` to stderr in one `write(2)`, so lines of concurrent events never interleave.
    public static let standardError: @Sendable (String) -> Void = { line in
        var bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }
}
