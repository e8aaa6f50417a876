import NIOCore
import NIOHTTP1

/// Sends one request when the connection is up and reaches the verdict from the
/// response: the status first, then, only when `body_contains` asks for it, the body.
///
/// It stops at the earliest answer: a rejected status, the expected string found, or
/// no body check at all. Reading no further than needed keeps a check cheap and immune
/// to a backend that streams an endless body.
final class HTTPProbeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let request: HTTPRequestHead
    private let expectStatus: StatusRanges
    private let needle: [UInt8]?
    private let usesTLS: Bool
    private let verdict: ProbeVerdict
    private var status = 0
    private var body: [UInt8] = []
    private var decided = false

    init(request: HTTPRequestHead, check: HTTPCheck, usesTLS: Bool, verdict: ProbeVerdict) {
        self.request = request
        self.expectStatus = check.expectStatus
        self.needle = check.bodyContains.map { Array($0.utf8) }
        self.usesTLS = usesTLS
        self.verdict = verdict
    }

    func channelActive(context: ChannelHandlerContext) {
        // With TLS the request waits in the TLS handler's buffer until the handshake is
        // done, and its write completes only then: that marks the end of the handshake.
        verdict.phase.value = usesTLS ? .tlsHandshake : .awaitingResponse
        let sent = context.eventLoop.makePromise(of: Void.self)
        let verdict = verdict
        sent.futureResult.whenSuccess {
            if verdict.phase.value == .tlsHandshake { verdict.phase.value = .awaitingResponse }
        }
        context.write(wrapOutboundOut(.head(request)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: sent)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            if !expectStatus.contains(status) {
                decide(.failure(.status(status)), context: context)
            } else if needle == nil {
                decide(.success(.status(status)), context: context)
            } else {
                verdict.phase.value = .readingBody
            }
        case .body(let chunk):
            scan(chunk, context: context)
        case .end:
            decide(.failure(.bodyMismatch(expected: String(decoding: needle ?? [], as: UTF8.self),
                                          scannedBytes: body.count)), context: context)
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

    /// Appends the chunk (up to the scan limit) and looks for the needle in the part
    /// that could hold a match not seen before: one straddling the previous end.
    private func scan(_ chunk: ByteBuffer, context: ChannelHandlerContext) {
        guard let needle else { return }
        let searchFrom = max(0, body.count - needle.count + 1)
        let room = HTTPCheck.bodyScanLimit - body.count
        body.append(contentsOf: chunk.readableBytesView.prefix(room))
        if body[searchFrom...].firstRange(of: needle) != nil {
            decide(.success(.status(status)), context: context)
        } else if body.count >= HTTPCheck.bodyScanLimit {
            decide(.failure(.bodyMismatch(expected: String(decoding: needle, as: UTF8.self), scannedBytes: body.count)),
                   context: context)
        }
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
