import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// lbd's HTTP/1.1 servers: the control API on a unix socket (never a TCP port), and the
/// read-only metrics endpoint on `metrics_listen`. One task per connection, requests
/// answered in order, keep-alive honoured. A service: on graceful shutdown it stops
/// accepting, lets requests in progress finish and be answered, closes idle
/// connections, and removes the socket file.
public final class APIServer: Service, Sendable {
    /// Larger bodies get 413: a services file of 100 VIPs × 100 backends is under 1 MiB.
    public static let maxBodyBytes = 16 << 20

    private typealias Listener = NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>

    /// The socket file; nil for a TCP listener.
    public let path: String?
    private let handle: @Sendable (APIRequest) async -> APIResponse
    private let logger: Logger
    private let listener: Listener

    private init(path: String?, logger: Logger, listener: Listener,
                 handle: @escaping @Sendable (APIRequest) async -> APIResponse) {
        self.path = path
        self.handle = handle
        self.logger = logger
        self.listener = listener
    }

    /// Listens on `path` (see `SocketFile` for the directory, a stale socket and the
    /// permissions); connections are accepted once `run()` runs.
    public static func bind(path: String, router: APIRouter, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            logger: Logger = Logger(label: "lbd.api")) async throws -> APIServer {
        try SocketFile.prepare(path)
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 128)
            .bind(unixDomainSocketPath: path, childChannelInitializer: httpChannel)
        do {
            try SocketFile.restrict(path)
        } catch {
            try? await listener.channel.close()
            throw error
        }
        logger.info("API listening", metadata: ["socket": "\(path)"])
        return APIServer(path: path, logger: logger, listener: listener, handle: router.handle)
    }

    /// Listens on TCP `host`:`port` (port 0: any free one, see `port`).
    public static func bind(host: String, port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            logger: Logger, handle: @escaping @Sendable (APIRequest) async -> APIResponse) async throws -> APIServer {
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 128)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port, childChannelInitializer: httpChannel)
        return APIServer(path: nil, logger: logger, listener: listener, handle: handle)
    }

    /// The TCP port listened on; nil on a unix socket.
    public var port: Int? { path == nil ? listener.channel.localAddress?.port : nil }

    @Sendable
    private static func httpChannel(_ channel: any Channel)
        -> EventLoopFuture<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
            return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
        }
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await listener.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in connections {
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            self.listener.channel.close(promise: nil)
        }
        if let path {
            unlink(path)
            logger.info("API closed", metadata: ["socket": "\(path)"])
        }
    }

    /// Answers the requests of one connection until the client closes it, asks to, or
    /// the daemon shuts down (the input is closed; a request in progress is answered).
    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        do {
            try await withGracefulShutdownHandler {
                try await connection.executeThenClose { inbound, outbound in
                    var head: HTTPRequestHead?
                    var body = ByteBuffer()
                    var tooLarge = false
                    for try await part in inbound {
                        switch part {
                        case .head(let requestHead):
                            head = requestHead
                            body.clear()
                            tooLarge = false
                        case .body(var chunk):
                            if body.readableBytes + chunk.readableBytes > Self.maxBodyBytes {
                                tooLarge = true
                            } else {
                                body.writeBuffer(&chunk)
                            }
                        case .end:
                            guard let request = head else { continue }
                            let response = tooLarge
                                ? .error(APIError(status: .payloadTooLarge, message: "the body exceeds \(Self.maxBodyBytes) bytes"))
                                : await handle(APIRequest(method: request.method, uri: request.uri,
                                                          body: Data(body.readableBytesView)))
                            let keepAlive = request.isKeepAlive && !tooLarge
                            try await write(response, for: request, keepAlive: keepAlive, to: outbound)
                            logger.debug("request", metadata: [
                                "method": "\(request.method)", "uri": "\(request.uri)", "status": "\(response.status.code)",
                            ])
                            if !keepAlive { return }
                        }
                    }
                }
            } onGracefulShutdown: {
                connection.channel.close(mode: .input, promise: nil)
            }
        } catch {
            logger.debug("API connection closed with an error", metadata: ["error": "\(error)"])
        }
    }

    private func write(_ response: APIResponse, for request: HTTPRequestHead, keepAlive: Bool,
                       to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        try await outbound.write(.head(HTTPResponseHead(version: request.version, status: response.status, headers: headers)))
        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body))))
        try await outbound.write(.end(nil))
    }
}
