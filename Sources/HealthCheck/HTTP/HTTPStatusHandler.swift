import NIOCore

/// The https check without `body_contains`, behind NIO's TLS handler: writes the
/// request, prepared once as bytes, and reads no further than the status line of the
/// final response (`StatusLineParser`, which plain http checks use on raw sockets).
///
/// A full HTTP decoder would parse every header and frame the body only for the check
/// to look at one number; here the bytes are scanned for the first line, its status
/// judged, and the connection closed (reset) at once. Interim (1xx) responses other
/// than 101 are skipped with their header lines, as HTTP/1.1 clients do.
final class HTTPStatusHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: ByteBuffer
    private let usesTLS: Bool
    private let verdict: ProbeVerdict
    private var parser: StatusLineParser
    private var decided = false

    init(request: ByteBuffer, expectStatus: StatusRanges, usesTLS: Bool, verdict: ProbeVerdict) {
        self.request = request
        self.parser = StatusLineParser(expectStatus: expectStatus)
        self.usesTLS = usesTLS
        self.verdict = verdict
    }

    func channelActive(context: ChannelHandlerContext) {
        // With TLS the request waits in the TLS handler's buffer until the handshake is
        // done, and its write completes only then: that marks the end of the handshake.
        if usesTLS {
            verdict.phase.value = .tlsHandshake
            let sent = context.eventLoop.makePromise(of: Void.self)
            let verdict = verdict
            sent.futureResult.whenSuccess {
                if verdict.phase.value == .tlsHandshake { verdict.phase.value = .awaitingResponse }
            }
            context.writeAndFlush(wrapOutboundOut(request), promise: sent)
        } else {
            verdict.phase.value = .awaitingResponse
            context.writeAndFlush(wrapOutboundOut(request), promise: nil)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else { return }
        let bytes = unwrapInboundIn(data)
        if let verdict = bytes.withUnsafeReadableBytes({ parser.feed($0) }) {
            decide(verdict, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !decided { decide(.failure(.connectionClosed(during: verdict.phase.value)), context: context) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !decided else { return }
        decide(.failure(ProbeFailure(error, during: verdict.phase.value)), context: context)
    }

    private func decide(_ outcome: Result<ProbeSuccess, ProbeFailure>, context: ChannelHandlerContext) {
        decided = true
        switch outcome {
        case .success(let success): verdict.succeed(success)
        case .failure(let failure): verdict.fail(failure)
        }
        context.close(promise: nil)
    }
}
