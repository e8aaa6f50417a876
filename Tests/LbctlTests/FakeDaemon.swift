import Foundation
import Glibc

/// An lbd stand-in: an HTTP/1.1 server on a unix socket in a fresh temporary directory,
/// in process, that records every request and answers from a script. One connection at
/// a time, as lbctl makes them.
final class FakeDaemon: @unchecked Sendable {
    struct Request: Equatable, CustomStringConvertible {
        var method: String
        var target: String
        var contentType: String?
        var body: String

        var description: String { "\(method) \(target) \(body)" }
    }

    enum Answer {
        /// `status` with a JSON body.
        case json(Int, String)
        /// `status` with any content type, framed by Content-Length.
        case text(Int, contentType: String, String)
        /// These bytes as they are, then close: framing tests.
        case raw(String)
        /// Read the request, never answer (until stopped): timeout tests.
        case silence
    }

    let directory: String
    let path: String
    private let listener: Int32
    private let lock = NSLock()
    private var answers: [String: [Answer]] = [:]
    private var recorded: [Request] = []
    private var silentConnections: [Int32] = []
    private var stopping = false
    private let stopped = DispatchSemaphore(value: 0)

    init() throws {
        var template = Array("/tmp/lbctl-test.XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        directory = String(cString: created)
        path = directory + "/lbd.sock"
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        Thread { [self] in serve() }.start()
    }

    /// Answers `method target` with `answers` in turn, the last one from then on.
    func answer(_ method: String, _ target: String, _ answers: Answer...) {
        lock.withLock { self.answers["\(method) \(target)"] = answers }
    }

    var requests: [Request] {
        lock.withLock { recorded }
    }

    func stop() {
        lock.withLock { stopping = true }
        stopped.wait()
        close(listener)
        lock.withLock { silentConnections.forEach { close($0) } }
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: Serving

    private func serve() {
        while !lock.withLock({ stopping }) {
            var entry = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 20) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            handle(connection)
        }
        stopped.signal()
    }

    private func handle(_ connection: Int32) {
        guard let request = readRequest(connection) else {
            close(connection)
            return
        }
        let answer = lock.withLock { () -> Answer in
            recorded.append(request)
            let key = "\(request.method) \(request.target)"
            guard let script = answers[key], let next = script.first else {
                return .json(404, #"{"error":"no such endpoint"}"#)
            }
            if script.count > 1 { answers[key] = Array(script.dropFirst()) }
            return next
        }
        let bytes: String
        switch answer {
        case .json(let status, let body):
            bytes = Self.response(status, contentType: "application/json", body)
        case .text(let status, let contentType, let body):
            bytes = Self.response(status, contentType: contentType, body)
        case .raw(let text):
            bytes = text
        case .silence:
            lock.withLock { silentConnections.append(connection) }
            return
        }
        let data = Array(bytes.utf8)
        _ = data.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        close(connection)
    }

    private static func response(_ status: Int, contentType: String, _ body: String) -> String {
        "HTTP/1.1 \(status) Status\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Connection: close\r\n\r\n\(body)"
    }

    /// The request line, Content-Type and a body of Content-Length bytes.
    private func readRequest(_ connection: Int32) -> Request? {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let end = received.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: received[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
                let headers = Dictionary(head.dropFirst().map { line -> (String, String) in
                    let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    return (parts[0].lowercased(), parts.count > 1 ? parts[1] : "")
                }, uniquingKeysWith: { first, _ in first })
                let length = Int(headers["content-length"] ?? "0") ?? 0
                if received.count - end.upperBound >= length {
                    let requestLine = head[0].split(separator: " ")
                    return Request(method: String(requestLine[0]), target: String(requestLine[1]),
                                   contentType: headers["content-type"],
                                   body: String(decoding: received[end.upperBound...].prefix(length), as: UTF8.self))
                }
            }
            let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            received += chunk[..<count]
        }
    }
}
