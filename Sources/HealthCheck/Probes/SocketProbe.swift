#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import CProbeSys
import NIOCore

/// Checks on a raw non-blocking socket, driven by the reactor, one at a time: connect,
/// for http one send of the prepared request and reads until the status line is known,
/// then `connect(AF_UNSPEC)`, which resets the connection (a RST, so no TIME_WAIT
/// socket is left on either side) and returns the socket to the closed state, ready
/// for the next check's connect. A timeout queue of the reactor bounds the whole check.
///
/// A loop's probe keeps its socket, and the socket's epoll registration, from one check
/// to the next (within the reactor's budget of kept sockets, half the open-files limit):
/// a check that passes costs connect, send, recv and the disconnect, four system calls,
/// and allocates nothing. Each check is still a new connection (a new
/// handshake from a new ephemeral port), which is what a check must see. After a
/// failure the socket is reset the same way; one that cannot be is closed, and the next
/// check opens another.
///
/// Confined to the reactor's thread, except `cancel`, which hops there.
final class SocketProbe: ReactorSocket, InFlightProbe, @unchecked Sendable {
    private let reactor: ProbeReactor
    private let check: SocketCheck
    /// The reactor's queue for this check's timeout, found on the reactor's thread at the
    /// first check: a probe may be made on another thread, and the queues are the reactor's.
    private var timeouts: TimeoutQueue?
    /// Keep the socket for the next check (a loop's probe), or close it after one.
    private let reusable: Bool
    /// The socket is kept (counted in the reactor's budget of kept sockets).
    private var kept = false
    private let completion: @Sendable (ProbeResult) -> Void
    /// The run in flight (they are numbered from 1), 0 when none is.
    private(set) var activeRun: UInt64 = 0
    private var runs: UInt64 = 0
    private var fd: CInt = -1
    private var slot = -1
    private var phase = ProbePhase.connecting
    private var connected = false
    private var sent = 0
    private var parser: StatusLineParser
    private var started: UInt64 = 0
    /// `started` on the clock of the kernel's arrival stamps (CLOCK_REALTIME).
    private var startedRealtime: Int64 = 0
    /// When the data that decided the check arrived, from the kernel (0: unknown).
    private var arrival: Int64 = 0

    init(reactor: ProbeReactor, check: SocketCheck, reusable: Bool,
         completion: @escaping @Sendable (ProbeResult) -> Void) {
        self.reactor = reactor
        self.check = check
        self.reusable = reusable
        self.completion = completion
        parser = StatusLineParser(expectStatus: check.expectStatus)
    }

    /// A socket is kept from the last check: the next one opens no descriptor.
    var holdsSocket: Bool { fd >= 0 && kept }

    /// Starts a check; its result goes to `completion`, possibly before this returns.
    func begin() {
        precondition(activeRun == 0, "a SocketProbe runs one check at a time")
        runs += 1
        activeRun = runs
        reactor.checksInFlight += 1
        reactor.checksConnecting += 1
        phase = .connecting
        connected = false
        sent = 0
        arrival = 0
        started = NIODeadline.now().uptimeNanoseconds
        startedRealtime = probe_sys_realtime_ns()
        if fd < 0 {
            fd = probe_sys_tcp_socket(check.family)
            guard fd >= 0 else { return fail(errno: errno) }
            guard check.prepare(fd) == 0 else {
                let error = errno
                closeSocket()
                return fail(errno: error)
            }
            // The answer's arrival time, for its latency whenever the reactor reads it.
            if check.request != nil { _ = probe_sys_timestamp_arrivals(fd) }
            kept = reusable && reactor.keepSocket()
            guard let slot = reactor.register(fd, self) else {
                let error = errno
                closeSocket()
                return fail(errno: error)
            }
            self.slot = slot
        }
        guard check.connect(fd) == 0 || errno == EINPROGRESS else { return fail(errno: errno) }
        // Connected at once or not, the registration reports writable when it is.
        let queue = timeouts ?? reactor.timeoutQueue(check.timeoutNanoseconds)
        timeouts = queue
        queue.add(self, run: activeRun, started: started)
    }

    /// Stops the check in flight, if any: its result is `cancelled`.
    func cancel() {
        if reactor.inEventLoop {
            finish(.failure(.cancelled))
        } else {
            reactor.execute { self.finish(.failure(.cancelled)) }
        }
    }

    /// Closes the socket kept between checks (its loop has stopped).
    func release() {
        precondition(activeRun == 0, "release a SocketProbe between checks")
        closeSocket()
    }

    func timedOut() {
        finish(.failure(.timeout(after: check.timeout, during: phase)))
    }

    func ready(_ events: UInt32) {
        // Events of a socket between checks (its own reset) are not a check's.
        guard activeRun != 0 else { return }
        if !connected {
            if events & (probe_sys_epollerr | probe_sys_epollhup) != 0 {
                let error = probe_sys_socket_error(fd)
                return error != 0 ? fail(errno: error) : finish(.failure(.connectionClosed(during: .connecting)))
            }
            guard events & probe_sys_epollout != 0 else { return }
            connected = true
            reactor.checksConnecting -= 1
            guard check.request != nil else { return finish(.success(.connected)) }
            phase = .awaitingResponse
            guard send() else { return }
        } else if events & probe_sys_epollout != 0, let request = check.request, sent < request.count {
            guard send() else { return }
        }
        if events & (probe_sys_epollin | probe_sys_epollrdhup | probe_sys_epollhup | probe_sys_epollerr) != 0 {
            receive()
        }
    }

    /// Sends what is left of the request; false when the check is over.
    private func send() -> Bool {
        guard let request = check.request else { return true }
        while sent < request.count {
            let count = request.withUnsafeBytes { bytes in
                probe_sys_send(fd, bytes.baseAddress! + sent, bytes.count - sent)
            }
            if count >= 0 {
                sent += count
                continue
            }
            switch errno {
            case EINTR: continue
            case EAGAIN: return true  // the rest when writable again
            case let error:
                fail(errno: error)
                return false
            }
        }
        return true
    }

    /// Reads until the verdict or until nothing is left to read for now.
    private func receive() {
        let buffer = reactor.readBuffer
        while activeRun != 0 {
            let count = probe_sys_recv_stamped(fd, buffer.baseAddress, buffer.count, &arrival)
            if count > 0 {
                if let verdict = parser.feed(UnsafeRawBufferPointer(rebasing: buffer[..<count])) {
                    return finish(verdict)
                }
            } else if count == 0 {
                return finish(.failure(.connectionClosed(during: phase)))
            } else {
                switch errno {
                case EINTR: continue
                case EAGAIN: return
                case let error: return fail(errno: error)
                }
            }
        }
    }

    private func fail(errno code: CInt) {
        finish(.failure(ProbeFailure(errno: code, during: phase)))
    }

    private func finish(_ outcome: Result<ProbeSuccess, ProbeFailure>) {
        guard activeRun != 0 else { return }
        activeRun = 0
        reactor.checksInFlight -= 1
        if !connected { reactor.checksConnecting -= 1 }
        if fd >= 0 && (!probe_sys_disconnect(fd) || !kept) { closeSocket() }
        parser = StatusLineParser(expectStatus: check.expectStatus)
        completion(ProbeResult(outcome, latency: .nanoseconds(latency(of: outcome)), at: Date()))
    }

    /// From the start to the verdict: to the kernel's arrival time of the answer that
    /// decided it when known (the reactor may read an answer up to
    /// `ProbeReactor.eventBatching` after it came), else to now.
    private func latency(of outcome: Result<ProbeSuccess, ProbeFailure>) -> Int64 {
        let elapsed = Int64(NIODeadline.now().uptimeNanoseconds - started)
        switch outcome {
        case .failure(.timeout(let after, _)):
            return TimeAmount(after).nanoseconds
        case .success, .failure(.status), .failure(.invalidResponse):
            guard arrival > startedRealtime else { return elapsed }
            return min(arrival - startedRealtime, elapsed)
        default:
            return elapsed
        }
    }

    /// Closes the socket, reset first if it is connected (`finish` has done that).
    private func closeSocket() {
        if slot >= 0 {
            reactor.unregister(slot)
            slot = -1
        }
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        if kept {
            reactor.releaseKeptSocket()
            kept = false
        }
    }
}
