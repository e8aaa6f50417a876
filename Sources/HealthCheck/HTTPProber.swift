import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP/1.1 request on a fresh connection, for `http` and `https` checks.
///
/// Built on NIO directly rather than an HTTP client library, because a check needs what
/// a client's connection pool hides: each check opens its own connection (a pooled one
/// would keep passing while the backend refuses new ones); it connects to the backend's
/// address while sending the VIP's name as Host and SNI (a shared client derives both
/// from one URL); redirects are answers, never followed; and the timeout covers the
/// whole exchange, with the phase it expired in.
public struct HTTPProber: Prober {
    private let group: any EventLoopGroup
    private let tls = TLSContexts()

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.group = group
    }

    public func probe(_ target: HealthTarget) async -> ProbeResult {
        let definition = target.definition
        let check = definition.http ?? .standard
        let request = Self.request(check, target: target)
        var sslContext: NIOSSLContext?
        if definition.type == .https {
            do {
                sslContext = try await tls.context(verify: check.verifyTLS)
            } catch {
                return ProbeResult(.failure(.tls("cannot set up TLS: \(error)")), latency: .zero, at: .now)
            }
        }
        return await ChannelProbe.run(group: group, address: target.socketAddress, timeout: definition.timeout) {
            [sslContext] channel, verdict in
            let pipeline = channel.pipeline.syncOperations
            if let sslContext {
                try pipeline.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: check.serverName))
            }
            try pipeline.addHTTPClientHandlers()
            try pipeline.addHandler(
                HTTPProbeHandler(request: request, check: check, usesTLS: sslContext != nil, verdict: verdict))
        }
    }

    static func request(_ check: HTTPCheck, target: HealthTarget) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: check.host ?? target.hostPort)
        headers.add(name: "Connection", value: "close")
        for (name, value) in check.headers.sorted(by: { $0.key < $1.key }) {
            headers.add(name: name, value: value)
        }
        // Defaults the configuration may replace (an application may route on User-Agent).
        for (name, value) in [("User-Agent", "lbd-healthcheck"), ("Accept", "*/*")] where !headers.contains(name: name) {
            headers.add(name: name, value: value)
        }
        return HTTPRequestHead(
            version: .http1_1, method: HTTPMethod(rawValue: check.method.rawValue), uri: check.path, headers: headers)
    }
}

/// The two client TLS contexts a monitor needs (verifying and not), made on first use
/// and shared: a context loads the trust store, too costly to repeat per check.
actor TLSContexts {
    private var contexts: [Bool: NIOSSLContext] = [:]

    func context(verify: Bool) throws -> NIOSSLContext {
        if let context = contexts[verify] { return context }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = verify ? .fullVerification : .none
        // A check needs no orderly TLS close; the socket is reset right after.
        configuration.shutdownTimeout = .zero
        let context = try NIOSSLContext(configuration: configuration)
        contexts[verify] = context
        return context
    }
}
