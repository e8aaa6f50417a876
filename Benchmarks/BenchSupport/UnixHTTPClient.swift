import Foundation

/// HTTP/1.1 over a unix stream socket, blocking, one keep-alive connection: the requests
/// lbctl sends, byte for byte.
public final class UnixHTTPClient {
    public struct Response {
        public var status: Int
        public var body: String
    }

    private let fd: Int32
    private var pending: [UInt8] = []

    public init(path: String, timeoutSeconds: Int = 60) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            close(fd)
            throw BenchError("connect \(path): \(String(cString: strerror(code)))")
        }
    }

    deinit {
        close(fd)
    }

    public func request(_ method: String, _ target: String, body: String? = nil) throws -> Response {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: lbd\r\n"
        if let body { text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        text += "\r\n" + (body ?? "")
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw BenchError("send: \(errno)") }
            offset += sent
        }
        var headerEnd: Int?
        while headerEnd == nil {
            headerEnd = pending.count < 4 ? nil : (0...(pending.count - 4)).first {
                pending[$0] == 13 && pending[$0 + 1] == 10 && pending[$0 + 2] == 13 && pending[$0 + 3] == 10
            }
            if headerEnd == nil { try receive() }
        }
        let head = String(decoding: pending[..<headerEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        pending.removeFirst(headerEnd! + 4)
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw BenchError("bad status line \(head[0])") }
        var length = 0
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == "content-length" else { continue }
            length = Int(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)) ?? 0
        }
        while pending.count < length { try receive() }
        let body = String(decoding: pending[..<length], as: UTF8.self)
        pending.removeFirst(length)
        return Response(status: status, body: body)
    }

    private func receive() throws {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { throw BenchError(count == 0 ? "connection closed" : "read: \(errno)") }
        pending += buffer[..<count]
    }
}
