import Foundation
import NIOCore
import NIOHTTP1

/// What the API and metrics servers allow a client: neither trusts its clients to be
/// few, quick or small (the metrics port may face a whole network).
public struct ServerLimits: Sendable {
    /// Larger request bodies get 413 and the connection is closed unread.
    public var maxBodyBytes: Int
    /// Connections open at once; more are closed as soon as they are accepted.
    public var maxConnections: Int
    /// A connection with no request under way (none yet, or between keep-alive
    /// requests) is closed after this long, as is one whose request head has not
    /// arrived whole by then.
    public var idleTimeout: Duration
    /// A request's body must be whole within this of its head.
    public var readTimeout: Duration

    public init(maxBodyBytes: Int, maxConnections: Int, idleTimeout: Duration, readTimeout: Duration) {
        self.maxBodyBytes = maxBodyBytes
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.readTimeout = readTimeout
    }

    /// The control API: a services file of 512 VIPs × 16 backends, or 100 × 100, is
    /// under 2 MiB; lbctl opens one connection per command.
    public static let api = ServerLimits(maxBodyBytes: 8 << 20, maxConnections: 64, idleTimeout: .seconds(30),
                                         readTimeout: .seconds(30))
    /// `/metrics`: GET only, so no body at all; a few scrapers at once.
    public static let metrics = ServerLimits(maxBodyBytes: 0, maxConnections: 16, idleTimeout: .seconds(30),
                                             readTimeout: .seconds(10))
}

/// The open connections of one server, against its cap.
final class ConnectionCount: @unchecked Sendable {
    // @unchecked: the counts are only touched under `lock`.
    private let lock = NSLock()
    private var open = 0
    private var refusedInARow = 0

    /// Counts a new connection in, unless `limit` are open already.
    func admit(limit: Int) -> Bool {
        lock.withLock {
            guard open < limit else { return false }
            open += 1
            refusedInARow = 0
            return true
        }
    }

    func leave() {
        lock.withLock { open -= 1 }
    }

    /// Counts a refusal; returns how many in a row (since the last admission).
    func refused() -> Int {
        lock.withLock {
            refusedInARow += 1
            return refusedInARow
        }
    }
}

/// Closes a connection whose client is too slow (`ServerLimits.idleTimeout`,
/// `readTimeout`): armed with the idle timeout when the connection opens and after each
/// answer, switched to the read timeout by a request's head, disarmed by its end while
/// the request is handled.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let idle: TimeAmount
    private let read: TimeAmount
    private var deadline: Scheduled<Void>?

    init(_ limits: ServerLimits) {
        idle = TimeAmount(limits.idleTimeout)
        read = TimeAmount(limits.readTimeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(idle, context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(read, context)
        case .end:
            deadline?.cancel()
            deadline = nil
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(idle, context) }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    private func arm(_ amount: TimeAmount, _ context: ChannelHandlerContext) {
        deadline?.cancel()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: amount) { channel.close(promise: nil) }
    }
}
