import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// What the test server does with its n-th request (1-based).
struct Reply: Sendable {
    var status = 200
    var body = "ok"
    /// Answer after this long.
    var delay: Duration = .zero
    /// Read the request and never answer.
    var silent = false
    /// Close the connection without answering.
    var hangUp = false
}

/// What the server has seen, confined to its single event loop.
struct ServerLog: Sendable {
    var requests = 0
    var lastRequest: HTTPRequestHead?
    var serverNames: [String?] = []
    var openConnections = 0
    /// The client port of every connection accepted.
    var clientPorts: [Int] = []
}

/// An HTTP/1.1 server on 127.0.0.1 (or `host`) with scripted replies, optionally over TLS, for the
/// checks to probe. One event loop thread, so its log needs no lock.
final class TestHTTPServer: Sendable {
    let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let log: NIOLoopBoundBox<ServerLog>

    /// - Parameter speaksHTTP: `false` for a server that accepts and then reads and
    ///   answers nothing at all, not even a TLS handshake.
    init(
        host: String = "127.0.0.1", tls: TestCertificate? = nil, speaksHTTP: Bool = true,
        reply: @escaping @Sendable (Int) -> Reply = { _ in Reply() }
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let log = NIOLoopBoundBox.makeBoxSendingValue(ServerLog(), eventLoop: loop)
        var sslContext: NIOSSLContext?
        if let tls {
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificatePath).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.keyPath, format: .pem)))
            configuration.sslContextCallback = { values, promise in
                loop.execute {
                    log.value.serverNames.append(values.serverHostname)
                    promise.succeed(NIOSSLContextConfigurationOverride())
                }
            }
            sslContext = try NIOSSLContext(configuration: configuration)
        }
        channel = try await ServerBootstrap(group: loop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [sslContext] channel in
                channel.eventLoop.makeCompletedFuture {
                    guard speaksHTTP else {
                        return try channel.pipeline.syncOperations.addHandler(SilentHandler(log: log))
                    }
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ScriptedHandler(log: log, reply: reply))
                }
            }
            .bind(host: host, port: 0).get()
        port = try XCTUnwrapPort(channel.localAddress?.port)
        self.group = group
        self.log = log
    }

    var seen: ServerLog {
        get async throws {
            let log = log
            return try await channel.eventLoop.submit { log.value }.get()
        }
    }

    func shutdown() async throws {
        try await channel.close()
        try await group.shutdownGracefully()
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

private func XCTUnwrapPort(_ port: Int?) throws -> Int {
    guard let port else { throw ChannelError.unknownLocalAddress }
    return port
}

/// Holds connections open and never reads from them.
private final class SilentHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let log: NIOLoopBoundBox<ServerLog>

    init(log: NIOLoopBoundBox<ServerLog>) {
        self.log = log
    }

    func channelActive(context: ChannelHandlerContext) {
        log.value.openConnections += 1
    }

    func channelInactive(context: ChannelHandlerContext) {
        log.value.openConnections -= 1
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

private final class ScriptedHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let log: NIOLoopBoundBox<ServerLog>
    private let reply: @Sendable (Int) -> Reply

    init(log: NIOLoopBoundBox<ServerLog>, reply: @escaping @Sendable (Int) -> Reply) {
        self.log = log
        self.reply = reply
    }

    func channelActive(context: ChannelHandlerContext) {
        log.value.openConnections += 1
        log.value.clientPorts.append(context.remoteAddress?.port ?? 0)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        log.value.openConnections -= 1
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        log.value.requests += 1
        log.value.lastRequest = head
        let reply = reply(log.value.requests)
        if reply.silent { return }
        if reply.hangUp {
            context.close(promise: nil)
            return
        }
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: TimeAmount(reply.delay)) {
            bound.value.handler.answer(reply, head: head, context: bound.value.context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func answer(_ reply: Reply, head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: String(reply.body.utf8.count))
        headers.add(name: "Connection", value: "close")
        if (300...399).contains(reply.status) { headers.add(name: "Location", value: "http://127.0.0.1:1/elsewhere") }
        let status = HTTPResponseStatus(statusCode: reply.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                      promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: reply.body)))), promise: nil)
        }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}

/// Runs `body` with a fresh server, shut down (its sockets closed) before returning,
/// whether `body` passed or threw.
func withServer<T>(
    host: String = "127.0.0.1", tls: TestCertificate? = nil, speaksHTTP: Bool = true,
    reply: @escaping @Sendable (Int) -> Reply = { _ in Reply() }, _ body: (TestHTTPServer) async throws -> T
) async throws -> T {
    let server = try await TestHTTPServer(host: host, tls: tls, speaksHTTP: speaksHTTP, reply: reply)
    do {
        let value = try await body(server)
        try await server.shutdown()
        return value
    } catch {
        try? await server.shutdown()
        throw error
    }
}
