#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation

/// BIRD's control socket (what `birdc -s SOCKET` talks to), for one command:
/// `configure`, which re-reads bird.conf and with it the routes file. BIRD applies a new
/// static protocol's routes by reconfiguring it in place: BGP sessions stay up and only
/// the routes that changed are announced or withdrawn.
///
/// The protocol is lines: `CODE-text` continues a reply, `CODE text` ends it, a leading
/// space continues the previous line; codes 8xxx and 9xxx are errors (BIRD's
/// doc/reply_codes). The socket is spoken directly rather than through birdc so that a
/// failure comes back as BIRD's own message, with no process to spawn.
public struct BirdControl: Sendable {
    public let socketPath: String
    /// How long one command may take before BIRD is considered unreachable.
    public var timeout: Duration = .seconds(10)

    public init(socketPath: String) {
        self.socketPath = socketPath
    }

    /// `configure`: BIRD re-reads its configuration (and the routes file).
    public func configure() throws(BirdError) {
        let reply = try command("configure")
        guard !reply.isError else { throw .refused(reply.text) }
    }

    /// One command's final reply.
    func command(_ text: String) throws(BirdError) -> BirdReply {
        let fd = try connect()
        defer { close(fd) }
        _ = try readReply(fd)  // 0001 greeting
        let line = Array((text + "\n").utf8)
        guard line.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == line.count else {
            throw .unreachable(socketPath, String(cString: strerror(errno)))
        }
        return try readReply(fd)
    }

    private func connect() throws(BirdError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .unreachable(socketPath, String(cString: strerror(errno))) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw .unreachable(socketPath, "path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path + [0]) }
        var timeval = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeval, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeval, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .unreachable(socketPath, reason)
        }
        return fd
    }

    /// Reads lines up to the one that ends a reply (`CODE text`).
    private func readReply(_ fd: Int32) throws(BirdError) -> BirdReply {
        var pending = [UInt8]()
        var lines: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                lines.append(line)
                if let reply = BirdReply(finalLine: line, previous: lines.dropLast()) { return reply }
            }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                throw .unreachable(socketPath, count == 0 ? "BIRD closed the connection" : String(cString: strerror(errno)))
            }
            pending += buffer[..<count]
        }
    }
}

/// The final line of a reply, with the text of the lines before it.
struct BirdReply: Equatable {
    let code: Int
    let text: String

    /// 8xxx: run-time errors (a bad configuration); 9xxx: the command's syntax.
    var isError: Bool { code >= 8000 }

    init(code: Int, text: String) {
        self.code = code
        self.text = text
    }

    /// nil unless `line` is `CODE text` (4 digits, a space).
    init?(finalLine line: String, previous: ArraySlice<String>) {
        let bytes = Array(line.utf8)
        guard bytes.count >= 5, bytes[4] == UInt8(ascii: " "), let code = Int(String(decoding: bytes[..<4], as: UTF8.self))
        else { return nil }
        self.code = code
        let texts = (previous + [line]).map { $0.count > 5 ? String($0.dropFirst(5)) : "" }.filter { !$0.isEmpty }
        text = texts.joined(separator: "; ")
    }
}

/// Why BIRD did not take the routes.
public enum BirdError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Nothing answers on the socket (BIRD not running, or another path).
    case unreachable(String, String)
    /// BIRD answered with an error (its configuration did not parse).
    case refused(String)

    public var description: String {
        switch self {
        case .unreachable(let path, let reason): "BIRD unreachable at \(path): \(reason)"
        case .refused(let message): "BIRD refused the configuration: \(message)"
        }
    }
}
