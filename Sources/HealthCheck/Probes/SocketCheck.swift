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
    /// Set on the socket before it connects: the probe goes through the tunnel.
    let tunnel: ProbeTunnel?

    init(address: SocketAddress, timeout: Duration, request: [UInt8]?, expectStatus: StatusRanges = .default,
         tunnel: ProbeTunnel? = nil) {
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
        self.tunnel = tunnel
    }

    /// Readies a new socket for this check's connects: 0, or -1 with errno.
    func prepare(_ fd: CInt) -> CInt {
        guard let tunnel else { return 0 }
        return probe_sys_route_through(fd, tunnel.mark, tunnel.interfaceIndex)
    }

    func connect(_ fd: CInt) -> CInt {
        withUnsafeBytes(of: address) { bytes in
            Glibc.connect(fd, bytes.baseAddress!.assumingMemoryBound(to: sockaddr.self), addressLength)
        }
    }
}
