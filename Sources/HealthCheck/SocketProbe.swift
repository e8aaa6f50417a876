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

/// What a tcp check, or an http check judged by its status alone, needs on every run:
/// the address as a `sockaddr`, the timeout, and for http the request's bytes. Built
/// once per target.
final class SocketCheck: Sendable {
    let family: CInt
    private let address: sockaddr_storage
    private let addressLength: socklen_t
    let timeout: Duration
    let timeoutNanoseconds: UInt64
    /// `nil` for tcp: success is the handshake.
    let request: [UInt8]?
    let expectStatus: StatusRanges

    init(address: SocketAddress, timeout: Duration, request: [UInt8]?, expectStatus: StatusRanges = .default) {
        var storage = sockaddr_storage()
        addressLength = address.withSockAddr { pointer, length in
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: length)) }
            return socklen_t(length)
        }
        self.address = storage
        family = CInt(storage.ss_family)
        self.timeout = timeout
        timeoutNanoseconds = UInt64(TimeAmount(timeout).nanoseconds)
        self.request = request
        self.expectStatus = expectStatus
    }

    func connect(_ fd: CInt) -> CInt {
        withUnsafeBytes(of: address) { bytes in
            Glibc.connect(fd, bytes.baseAddress!.assumingMemoryBound(to: sockaddr.self), addressLength)
        }
    }
}

/// Runs a `SocketCheck` on the reactor.
struct SocketProbePlan: ProbePlan {
    let reactor: ProbeReactor
    let check: SocketCheck

    func start(on loop: any EventLoop, completion: @escaping @Sendable (ProbeResult) -> Void) -> any InFlightProbe {
        if loop === reactor && reactor.inEventLoop {
            let probe = SocketProbe(reactor: reactor, check: check, completion: completion)
            probe.begin()
            return probe
        }
        let probe = SocketProbe(reactor: reactor, check: check) { result in loop.execute { completion(result) } }
        reactor.execute { probe.begin() }
        return probe
    }
}

/// One check on a raw non-blocking socket, driven by the reactor: socket, SO_LINGER 0,
/// connect, one edge-triggered epoll registration; for http, one send of the prepared
/// request and reads until the status line is known; then close, which resets the
/// connection (no TIME_WAIT). A timer on the reactor bounds the whole check.
///
/// Confined to the reactor's thread, except `cancel`, which hops there.
final class SocketProbe: ReactorTimer, ReactorSocket, InFlightProbe, @unchecked Sendable {
    private let reactor: ProbeReactor
    private let check: SocketCheck
    private var completion: (@Sendable (ProbeResult) -> Void)?
    private var fd: CInt = -1
    private var slot = -1
    private var phase = ProbePhase.connecting
    private var sent = 0
    private var parser: StatusLineParser
    private var started: UInt64 = 0

    init(reactor: ProbeReactor, check: SocketCheck, completion: @escaping @Sendable (ProbeResult) -> Void) {
        self.reactor = reactor
        self.check = check
        self.completion = completion
        parser = StatusLineParser(expectStatus: check.expectStatus)
    }

    func begin() {
        guard completion != nil else { return }  // cancelled before it began
        started = NIODeadline.now().uptimeNanoseconds
        fd = probe_sys_tcp_socket(check.family)
        guard fd >= 0 else { return fail(errno: errno) }
        guard probe_sys_reset_on_close(fd) == 0, check.connect(fd) == 0 || errno == EINPROGRESS else {
            return fail(errno: errno)
        }
        guard let slot = reactor.register(fd, self) else { return fail(errno: errno) }
        self.slot = slot
        // Connected at once or not, the registration reports writable when it is.
        reactor.arm(self, at: started + check.timeoutNanoseconds)
    }

    func cancel() {
        if reactor.inEventLoop {
            finish(.failure(.cancelled))
        } else {
            reactor.execute { self.finish(.failure(.cancelled)) }
        }
    }

    /// The timeout.
    override func fire() {
        finish(.failure(.timeout(after: check.timeout, during: phase)))
    }

    func ready(_ events: UInt32) {
        guard completion != nil else { return }
        if phase == .connecting {
            if events & (probe_sys_epollerr | probe_sys_epollhup) != 0 {
                let error = probe_sys_socket_error(fd)
                return error != 0 ? fail(errno: error) : finish(.failure(.connectionClosed(during: .connecting)))
            }
            guard events & probe_sys_epollout != 0 else { return }
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
        while completion != nil {
            let count = recv(fd, buffer.baseAddress, buffer.count, 0)
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
        guard let completion else { return }
        self.completion = nil
        disarm()
        if slot >= 0 {
            reactor.unregister(slot)
            slot = -1
        }
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        let latency = started == 0 ? 0 : NIODeadline.now().uptimeNanoseconds - started
        completion(ProbeResult(outcome, latency: .nanoseconds(Int64(latency)), at: Date()))
    }
}
