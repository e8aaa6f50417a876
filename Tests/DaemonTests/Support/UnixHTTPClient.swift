import Foundation
import Glibc

/// A minimal HTTP/1.1 client over a unix stream socket, for driving the API as lbctl
/// does, byte for byte. One connection, requests in sequence (keep-alive); blocking
/// I/O runs on a dispatch queue, off the test's cooperative threads.
final class UnixHTTPClient: @unchecked Sendable {
    struct Response: Equatable {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let fd: Int32
    private let queue = DispatchQueue(label: "unix-http-client")
    private var pending: [UInt8] = []

    init(path: String, timeoutSeconds: Int = 10) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
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
            throw Failure(description: "connect \(path): \(String(cString: strerror(code)))")
        }
    }

    deinit {
        close(fd)
    }

    /// One request on the connection, then its complete response.
    func request(_ method: String, _ target: String, body: String? = nil,
                 headers: [String] = []) async throws -> Response {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: lbd\r\n"
        for header in headers { text += header + "\r\n" }
        if let body { text += "Content-Length: \(body.utf8.count)\r\n" }
        text += "\r\n" + (body ?? "")
        let bytes = Array(text.utf8)
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.exchange(bytes) })
            }
        }
    }

    /// Whether the server has closed the connection (a read sees end of file).
    func isClosedByServer() async -> Bool {
        await withCheckedContinuation { continuation in
            queue.async {
                var byte: UInt8 = 0
                continuation.resume(returning: read(self.fd, &byte, 1) == 0)
            }
        }
    }

    /// Sends `text` as it is (a request cut short, a head without its body), and returns
    /// without waiting for an answer.
    func send(raw text: String) async throws {
        let bytes = Array(text.utf8)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            queue.async { continuation.resume(with: Result { try self.send(bytes) }) }
        }
    }

    /// The next response on the connection, without sending anything.
    func response() async throws -> Response {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try self.exchange([]) }) }
        }
    }

    private func send(_ request: [UInt8]) throws {
        var offset = 0
        while offset < request.count {
            let sent = request[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure(description: "send: \(errno)") }
            offset += sent
        }
    }

    private func exchange(_ request: [UInt8]) throws -> Response {
        try send(request)
        let separator = Array("\r\n\r\n".utf8)
        var headerEnd: Int?
        while headerEnd == nil {
            headerEnd = pending.indices.dropLast(3).first { Array(pending[$0..<$0 + 4]) == separator }
            if headerEnd == nil { try receive() }
        }
        let head = String(decoding: pending[..<headerEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        pending.removeFirst(headerEnd! + 4)
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw Failure(description: "bad status line \(head[0])")
        }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while pending.count < length { try receive() }
        let body = String(decoding: pending[..<length], as: UTF8.self)
        pending.removeFirst(length)
        return Response(status: status, headers: headers, body: body)
    }

    private func receive() throws {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { throw Failure(description: count == 0 ? "connection closed" : "read: \(errno)") }
        pending += buffer[..<count]
    }
}
