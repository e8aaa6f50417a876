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
///
/// An http check judged by its status alone runs on a raw socket of the process's
/// `ProbeReactor` (`SocketProbe`); https and `body_contains` checks run NIO channels on
/// `group`, with NIO's TLS and HTTP handlers.
public struct HTTPProber: Prober, EventLoopProber {
    private let channelGroup: any EventLoopGroup
    private let tls = TLSContexts()

    /// - Parameter group: where https and `body_contains` checks run their channels.
    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.channelGroup = group
    }

    public func probe(_ target: HealthTarget) async -> ProbeResult {
        await plan(for: target).run(on: ProbeReactor.shared)
    }

    /// The request is built and the TLS context looked up once per target, not per check.
    func plan(for target: HealthTarget) -> any ProbePlan {
        let definition = target.definition
        let check = definition.http ?? .standard
        var sslContext: NIOSSLContext?
        if definition.type == .https {
            do {
                sslContext = try tls.context(verify: check.verifyTLS)
            } catch {
                return ImmediateProbePlan(outcome: .failure(.tls("cannot set up TLS: \(error)")))
            }
        }
        let request = Self.request(check, target: target)
        if sslContext == nil && check.bodyContains == nil {
            return SocketProbePlan(reactor: .shared, check: SocketCheck(
                address: target.socketAddress, timeout: definition.timeout,
                request: Array(Self.encode(request).readableBytesView), expectStatus: check.expectStatus,
                tunnel: target.tunnel))
        }
        return HTTPProbePlan(
            group: channelGroup, address: target.socketAddress, timeout: definition.timeout, check: check,
            request: request, requestBytes: Self.encode(request), sslContext: sslContext, tunnel: target.tunnel)
    }

    /// The request as it goes on the wire, encoded once per target.
    static func encode(_ request: HTTPRequestHead) -> ByteBuffer {
        var text = "\(request.method.rawValue) \(request.uri) HTTP/1.1\r\n"
        for (name, value) in request.headers {
            text += "\(name): \(value)\r\n"
        }
        text += "\r\n"
        return ByteBuffer(string: text)
    }

    static func request(_ check: HTTPCheck, target: HealthTarget) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: check.host ?? target.destinationHostPort)
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
