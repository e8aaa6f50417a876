import Balancer
import Foundation

/// The configuration file as the daemon reads it: its text, then `Configuration`, with
/// every problem reported as `FILE:LINE:COL: message` (what `lbd check` prints, and what
/// the daemon logs when it refuses to start or to reload).
public enum ConfigurationFile {
    /// Why a configuration file cannot be used; `lines` are ready to print.
    public struct Failure: Error, CustomStringConvertible {
        public let lines: [String]
        public var description: String { lines.joined(separator: "\n") }
    }

    /// The configuration at `path`, or every reason it is unusable.
    public static func load(_ path: String) throws(Failure) -> Configuration {
        let text: String
        do {
            text = try readFile(path)
        } catch {
            throw Failure(lines: ["\(path): cannot read: \(error)"])
        }
        do {
            return try Configuration(yaml: text)
        } catch {
            throw Failure(lines: error.errors.map { $0.formatted(file: path) })
        }
    }

    /// The file's text; the error is the system's reason ("No such file or directory").
    static func readFile(_ path: String) throws(SystemError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError() }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw SystemError() }
            if count == 0 { break }
            bytes += buffer[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
