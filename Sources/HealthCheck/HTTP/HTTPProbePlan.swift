import NIOCore
import NIOHTTP1
import NIOSSL

struct HTTPProbePlan: ProbePlan {
    let group: any EventLoopGroup
    let address: SocketAddress
    let timeout: Duration
    let check: HTTPCheck
    let request: HTTPRequestHead
    let requestBytes: ByteBuffer
    let sslContext: NIOSSLContext?
    let tunnel: ProbeTunnel?

    /// Without `body_contains` the answer is the status line alone, which
    /// `HTTPStatusHandler` reads from the bytes; with it, the full HTTP/1 decoder frames
    /// the body for `HTTPProbeHandler`. The channel runs on a loop of `group`; the
    /// result is handed back to `loop`.
    func start(on loop: any EventLoop, completion: @escaping @Sendable (ProbeResult) -> Void) -> any InFlightProbe {
        let (check, request, requestBytes, sslContext) = (check, request, requestBytes, sslContext)
        let channelLoop = group.next()
        var report = completion
        if channelLoop !== loop {
            report = { result in loop.execute { completion(result) } }
        }
        return ChannelProbe.start(on: channelLoop, address: address, timeout: timeout, tunnel: tunnel, initialize: { channel, verdict in
            let pipeline = channel.pipeline.syncOperations
            if let sslContext {
                try pipeline.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: check.serverName))
            }
            if check.bodyContains == nil {
                try pipeline.addHandler(HTTPStatusHandler(
                    request: requestBytes, expectStatus: check.expectStatus, usesTLS: sslContext != nil, verdict: verdict))
            } else {
                try pipeline.addHTTPClientHandlers()
                try pipeline.addHandler(
                    HTTPProbeHandler(request: request, check: check, usesTLS: sslContext != nil, verdict: verdict))
            }
        }, completion: report)
    }
}
