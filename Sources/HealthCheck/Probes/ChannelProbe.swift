#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import NIOPosix

/// One NIO channel to a target, bounded by a deadline and closed however it ends: the
/// https checks and those with `body_contains`, which need NIO's TLS and HTTP handlers
/// (tcp and plain http checks are `SocketProbe`s on the reactor).
///
/// The deadline is a timer on the connection's event loop that fails the verdict with
/// the phase reached and closes the channel, so a server that accepts and never answers
/// fails at the timeout instead of holding the check. Every path ends in `close`: the
/// channel is closed when the verdict is reached, connected or not. Sockets close with
/// SO_LINGER 0 (a RST), as HAProxy's checks do, so thousands of checks a minute leave no
/// TIME_WAIT sockets holding ephemeral ports.
enum ChannelProbe {
    /// Connects to `address` and lets `initialize` install the handlers that reach the
    /// verdict. `completion` gets the result on `loop`.
    static func start(
        on loop: any EventLoop, address: SocketAddress, timeout: Duration, tunnel: ProbeTunnel? = nil,
        initialize: @escaping @Sendable (any Channel, ProbeVerdict) throws -> Void,
        completion: @escaping @Sendable (ProbeResult) -> Void
    ) -> ProbeVerdict {
        let started = NIODeadline.now()
        let verdict = ProbeVerdict(
            promise: loop.makePromise(of: ProbeSuccess.self),
            phase: .makeBoxSendingValue(.connecting, eventLoop: loop))
        verdict.promise.futureResult.whenComplete { outcome in
            let latency = Duration.nanoseconds((NIODeadline.now() - started).nanoseconds)
            completion(ProbeResult(outcome.mapError { ProbeFailure($0, during: .connecting) }, latency: latency, at: Date()))
        }
        let limit = TimeAmount.nanoseconds(timeout.nanoseconds)
        let deadline = loop.scheduleTask(in: limit) {
            verdict.fail(.timeout(after: timeout, during: verdict.phase.value))
        }
        verdict.promise.futureResult.whenComplete { _ in deadline.cancel() }

        var bootstrap = ClientBootstrap(group: loop).connectTimeout(limit)
        if let tunnel {
            bootstrap = bootstrap
                .channelOption(Self.markOption, value: Int(tunnel.mark))
                .channelOption(Self.interfaceOption, value: Int(tunnel.interfaceIndex))
        }
        bootstrap
            .channelInitializer { channel in
                // Registered before connecting, so a verdict reached while the connect is
                // still pending (deadline, cancellation) closes the socket at once too.
                verdict.promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                return channel.eventLoop.makeCompletedFuture {
                    try initialize(channel, verdict)
                }.flatMap {
                    (channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
                        ?? channel.eventLoop.makeSucceededVoidFuture()
                }
            }
            .connect(to: address)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    channel.closeFuture.whenComplete { _ in
                        verdict.fail(.connectionClosed(during: verdict.phase.value))
                    }
                case .failure(let error):
                    verdict.fail(ProbeFailure(error, during: .connecting))
                }
            }
        return verdict
    }

    /// A probe through the tunnel: as `SocketCheck.prepare` sets them for the reactor's.
    private static let markOption = ChannelOptions.socketOption(.init(rawValue: SO_MARK))
    private static let interfaceOption = ChannelOptions.socketOption(.init(rawValue: SO_BINDTOIFINDEX))
}
