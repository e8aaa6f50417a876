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
///
/// Clients are not trusted to be quick or few (`ServerLimits`): a body over the limit
/// is answered 413 as soon as it is known to be (its Content-Length, or the bytes
/// received) and the connection closed, without reading the rest; connections beyond
/// the cap are closed at once; a connection that sends no request for the idle timeout,
/// or takes longer than the read timeout to send one whole, is closed.
public final class APIServer: Service, Sendable {

    private typealias Listener = NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>

    /// The socket file; nil for a TCP listener.
    public let path: String?
    public let limits: ServerLimits
    private let connections = ConnectionCount()
    private let handle: @Sendable (APIRequest) async -> APIResponse
    private let logger: Logger
    private let listener: Listener

    private init(path: String?, limits: ServerLimits, logger: Logger, listener: Listener,
                 handle: @escaping @Sendable (APIRequest) async -> APIResponse) {
        self.path = path
        self.limits = limits
        self.handle = handle
        self.logger = logger
        self.listener = listener
    }

    /// Listens on `path` (see `SocketFile` for the directory, a stale socket and the
    /// permissions); connections are accepted once `run()` runs.
    public static func bind(path: String, router: APIRouter, limits: ServerLimits = .api,
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            logger: Logger = Logger(label: "lbd.api")) async throws -> APIServer {
        try SocketFile.prepare(path)
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 128)
            .bind(unixDomainSocketPath: path, childChannelInitializer: httpChannel(limits))
        do {
            try SocketFile.restrict(path)
        } catch {
            try? await listener.channel.close()
            throw error
        }
        logger.info("API listening", metadata: ["socket": "\(path)"])
        return APIServer(path: path, limits: limits, logger: logger, listener: listener, handle: router.handle)
    }

    /// Listens on TCP `host`:`port` (port 0: any free one, see `port`).
    public static func bind(host: String, port: Int, limits: ServerLimits,
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            logger: Logger, handle: @escaping @Sendable (APIRequest) async -> APIResponse) async throws -> APIServer {
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 128)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port, childChannelInitializer: httpChannel(limits))
        return APIServer(path: nil, limits: limits, logger: logger, listener: listener, handle: handle)
    }

    /// The TCP port listened on; nil on a unix socket.
    public var port: Int? { path == nil ? listener.channel.localAddress?.port : nil }

    private static func httpChannel(_ limits: ServerLimits) -> @Sendable (any Channel)
        -> EventLoopFuture<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>> {
        { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                try channel.pipeline.syncOperations.addHandler(RequestDeadlineHandler(limits))
                return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
            }
        }
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await listener.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in connections {
                        guard self.connections.admit(limit: limits.maxConnections) else {
                            await refuse(connection)
                            continue
                        }
                        group.addTask {
                            await self.serve(connection)
                            self.connections.leave()
                        }
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

    /// Closes a connection over the cap at once, unread; says so once per run of refusals.
    private func refuse(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        try? await connection.executeThenClose { _, _ in }
        if connections.refused() == 1 {
            logger.warning("connection refused: too many open connections", metadata: [
                "limit": "\(limits.maxConnections)", "server": "\(path ?? "metrics")",
            ])
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
                    for try await part in inbound {
                        switch part {
                        case .head(let requestHead):
                            head = requestHead
                            body.clear()
                            let declared = requestHead.headers.first(name: "content-length").flatMap { Int($0) } ?? 0
                            if declared > limits.maxBodyBytes { return try await refuseBody(of: requestHead, outbound) }
                        case .body(var chunk):
                            guard body.readableBytes + chunk.readableBytes <= limits.maxBodyBytes else {
                                return try await refuseBody(of: head, outbound)
                            }
                            body.writeBuffer(&chunk)
                        case .end:
                            guard let request = head else { continue }
                            let response = await handle(APIRequest(method: request.method, uri: request.uri,
                                                                   body: Data(body.readableBytesView)))
                            let keepAlive = request.isKeepAlive
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

    /// 413, then the connection is closed: the rest of the body is never read.
    private func refuseBody(of request: HTTPRequestHead?,
                            _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws {
        let limit = limits.maxBodyBytes
        let response = APIResponse.error(APIError(
            status: .payloadTooLarge, message: limit == 0 ? "no request body is accepted here" : "the body exceeds \(limit) bytes"))
        let head = request ?? HTTPRequestHead(version: .http1_1, method: .POST, uri: "/")
        try await write(response, for: head, keepAlive: false, to: outbound)
        logger.notice("request refused: body too large", metadata: ["uri": "\(head.uri)", "limit_bytes": "\(limit)"])
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
