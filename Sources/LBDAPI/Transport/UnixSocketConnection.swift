import Glibc

/// One connection to lbd's unix socket. Connecting, and each exchange after it, has a
/// deadline `timeout` from its start (`LBDClient` gives its one exchange a single
/// deadline, connecting included): a daemon that accepts but never answers (stuck, or
/// stopped under a debugger) fails the call instead of hanging a script. Requests are
/// answered in order, the connection kept open for the next. Used by one caller at a
/// time (Sendable so that the async face can hand it to a dispatch thread).
public final class UnixSocketConnection: @unchecked Sendable {
    public let path: String
    public let timeout: Duration
    private let socket: Int32
    /// The response being read, as received so far.
    private var received: [UInt8] = []

    /// Connects, within `timeout`.
    public convenience init(path: String, timeout: Duration) throws(LBDClientError) {
        try self.init(path: path, timeout: timeout, deadline: .now + timeout)
    }

    /// Connects by `deadline`: the first part of an exchange that has one deadline.
    init(path: String, timeout: Duration, deadline: ContinuousClock.Instant) throws(LBDClientError) {
        self.path = path
        self.timeout = timeout
        socket = try Self.connect(path, timeout: timeout, deadline: deadline)
    }

    deinit {
        close(socket)
    }

    /// Sends `request` and reads its response; the connection stays open (keep-alive).
    public func exchange(_ request: HTTPRequest) throws(LBDClientError) -> HTTPResponse {
        try exchange(request, keepAlive: true, deadline: .now + timeout)
    }

    func exchange(_ request: HTTPRequest, keepAlive: Bool,
                  deadline: ContinuousClock.Instant) throws(LBDClientError) -> HTTPResponse {
        try write(request.serialized(keepAlive: keepAlive), deadline: deadline)
        return try readResponse(deadline: deadline)
    }

    /// Sends `bytes` as they are (a request cut short, a head without its body).
    public func send(raw bytes: [UInt8]) throws(LBDClientError) {
        try write(bytes, deadline: ContinuousClock.now + timeout)
    }

    /// The next response, without sending anything.
    public func response() throws(LBDClientError) -> HTTPResponse {
        try readResponse(deadline: ContinuousClock.now + timeout)
    }

    /// Whether lbd closes the connection within `timeout` (reads then see its end).
    public func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        do {
            try wait(for: Int16(POLLIN), deadline: ContinuousClock.now + timeout)
        } catch {
            return false
        }
        return recv(socket, &byte, 1, 0) == 0
    }

    // MARK: Connecting

    private static func connect(_ path: String, timeout: Duration,
                                deadline: ContinuousClock.Instant) throws(LBDClientError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        // sun_path holds the path and its terminating zero.
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !pathBytes.isEmpty, pathBytes.count < capacity else {
            throw .badSocketPath("socket path '\(path)' must be 1 to \(capacity - 1) bytes long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }

        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw .unreachable("cannot create a unix socket: \(errorText(errno))") }
        // A unix-socket connect blocks only while lbd's accept queue is full, for at most
        // the send timeout.
        var limit = timeval(until: deadline)
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
                throw .unreachable("lbd on \(path) did not accept the connection within \(text(timeout))")
            }
            let hint = error == EACCES || error == EPERM ? "lbctl needs root or group lbd" : "is lbd running?"
            throw .unreachable("cannot connect to \(path): \(errorText(error)) (\(hint))")
        }
        return socket
    }

    // MARK: Exchanging

    private func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws(LBDClientError) {
        var sent = 0
        while sent < bytes.count {
            try wait(for: Int16(POLLOUT), deadline: deadline)
            // MSG_NOSIGNAL: a daemon that closed early is an error to report, not SIGPIPE.
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .unreachable("lost the connection to lbd on \(path): \(Self.errorText(errno))")
            }
            sent += count
        }
    }

    private func readResponse(deadline: ContinuousClock.Instant) throws(LBDClientError) -> HTTPResponse {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            try wait(for: Int16(POLLIN), deadline: deadline)
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
                throw .unreadable("lbd sent a malformed HTTP response: \(error.reason)")
            }
            if let response {
                // The next request is sent only once this response is read: nothing follows it.
                received = []
                return response
            }
            if count == 0 {
                throw .unreachable("lbd on \(path) closed the connection before the response was complete")
            }
        }
    }

    /// Waits until the socket is ready for `events`, or throws once the deadline passes.
    private func wait(for events: Int16, deadline: ContinuousClock.Instant) throws(LBDClientError) {
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
