import Glibc

/// Sends one request to lbd over its unix socket and reads the response, with one
/// deadline for the whole exchange: a daemon that accepts but never answers (stuck, or
/// stopped under a debugger) fails the command instead of hanging a script.
struct UnixSocketHTTPClient: Sendable {
    let path: String
    let timeout: Duration

    func send(_ request: HTTPRequest) throws(Failure) -> HTTPResponse {
        let deadline = ContinuousClock.now + timeout
        let socket = try connect(deadline: deadline)
        defer { close(socket) }
        try write(request.serialized, to: socket, deadline: deadline)
        return try readResponse(from: socket, deadline: deadline)
    }

    // MARK: Connecting

    private func connect(deadline: ContinuousClock.Instant) throws(Failure) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        // sun_path holds the path and its terminating zero.
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !pathBytes.isEmpty, pathBytes.count < capacity else {
            throw .usage("socket path '\(path)' must be 1 to \(capacity - 1) bytes long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }

        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw .unreachable("cannot create a unix socket: \(Self.errorText(errno))") }
        // A unix-socket connect blocks only while lbd's accept queue is full, for at most
        // the send timeout.
        var limit = Self.timeval(until: deadline)
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let error = errno
            close(socket)
            if error == EAGAIN || error == EINPROGRESS {
                throw .unreachable("lbd on \(path) did not accept the connection within \(Self.text(timeout))")
            }
            let hint = error == EACCES || error == EPERM ? "lbctl needs root or group lbd" : "is lbd running?"
            throw .unreachable("cannot connect to \(path): \(Self.errorText(error)) (\(hint))")
        }
        return socket
    }

    // MARK: Exchanging

    private func write(_ bytes: [UInt8], to socket: Int32, deadline: ContinuousClock.Instant) throws(Failure) {
        var sent = 0
        while sent < bytes.count {
            try wait(for: Int16(POLLOUT), on: socket, deadline: deadline)
            // MSG_NOSIGNAL: a daemon that closed early is an error to report, not SIGPIPE.
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .unreachable("lost the connection to lbd on \(path): \(Self.errorText(errno))")
            }
            sent += count
        }
    }

    private func readResponse(from socket: Int32, deadline: ContinuousClock.Instant) throws(Failure) -> HTTPResponse {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            try wait(for: Int16(POLLIN), on: socket, deadline: deadline)
            let count = chunk.withUnsafeMutableBytes { Glibc.recv(socket, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .unreachable("lost the connection to lbd on \(path): \(Self.errorText(errno))")
            }
            received += chunk[..<count]
            let response: HTTPResponse?
            do {
                response = try HTTPResponseParser.parse(received, atEOF: count == 0)
            } catch {
                throw .daemon("lbd sent a malformed HTTP response: \(error.reason)")
            }
            if let response { return response }
            if count == 0 {
                throw .unreachable("lbd on \(path) closed the connection before the response was complete")
            }
        }
    }

    /// Waits until `socket` is ready for `events`, or throws once the deadline passes.
    private func wait(for events: Int16, on socket: Int32, deadline: ContinuousClock.Instant) throws(Failure) {
        while true {
            let remaining = deadline - .now
            guard remaining > .zero else {
                throw .unreachable("lbd on \(path) did not answer within \(Self.text(timeout))")
            }
            var entry = pollfd(fd: socket, events: events, revents: 0)
            let milliseconds = Int32(min((remaining / .milliseconds(1)).rounded(.up), Double(Int32.max)))
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return }
            if ready < 0, errno != EINTR {
                throw .unreachable("lost the connection to lbd on \(path): \(Self.errorText(errno))")
            }
        }
    }

    // MARK: Text

    private static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// `10s`, or milliseconds when not whole seconds (the tests' short timeouts).
    private static func text(_ duration: Duration) -> String {
        let milliseconds = Int((duration / .milliseconds(1)).rounded())
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }

    private static func timeval(until deadline: ContinuousClock.Instant) -> Glibc.timeval {
        let remaining = max(deadline - .now, .milliseconds(1))
        let (seconds, attoseconds) = remaining.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
