import NIOCore

/// The http(s) check without `body_contains`: writes the request, prepared once as
/// bytes, and reads no further than the status line of the final response.
///
/// A full HTTP decoder would parse every header and frame the body only for the check
/// to look at one number; here the bytes are scanned for the first line, its status
/// judged, and the connection closed (reset) at once. Interim (1xx) responses other
/// than 101 are skipped with their header lines, as HTTP/1.1 clients do.
final class HTTPStatusHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A status line (or a skipped header line) longer than this is not HTTP.
    static let lineLimit = 8192

    private enum State {
        /// Reading the status line of a response.
        case statusLine
        /// Skipping the header lines of an interim response, up to its empty line.
        case interimHeaders
        case decided
    }

    private let request: ByteBuffer
    private let expectStatus: StatusRanges
    private let usesTLS: Bool
    private let verdict: ProbeVerdict
    private var state = State.statusLine
    /// The start of a line split across reads.
    private var pending: ByteBuffer?

    init(request: ByteBuffer, expectStatus: StatusRanges, usesTLS: Bool, verdict: ProbeVerdict) {
        self.request = request
        self.expectStatus = expectStatus
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
        guard !isDecided else { return }
        consume(unwrapInboundIn(data), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !isDecided { decide(.failure(.connectionClosed(during: verdict.phase.value)), context: context) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !isDecided else { return }
        decide(.failure(ProbeFailure(error, during: verdict.phase.value)), context: context)
    }

    private var isDecided: Bool {
        if case .decided = state { return true }
        return false
    }

    /// Takes the complete lines of `bytes` (with what was pending before it) until the
    /// verdict; keeps an incomplete last line for the next read.
    private func consume(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        var buffer: ByteBuffer
        if var pending {
            self.pending = nil
            var bytes = bytes
            pending.writeBuffer(&bytes)
            buffer = pending
        } else {
            buffer = bytes
        }
        while !isDecided {
            guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
                if buffer.readableBytes >= Self.lineLimit {
                    decide(.failure(.invalidResponse(lineTooLong)), context: context)
                } else if buffer.readableBytes > 0 {
                    pending = buffer
                }
                return
            }
            let length = newline - buffer.readerIndex
            guard length < Self.lineLimit else {
                return decide(.failure(.invalidResponse(lineTooLong)), context: context)
            }
            var line = buffer.readSlice(length: length + 1)!.readableBytesView.dropLast()
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            take(line, context: context)
        }
    }

    private var lineTooLong: String {
        switch state {
        case .statusLine: "status line longer than \(Self.lineLimit) bytes"
        case .interimHeaders, .decided: "header line longer than \(Self.lineLimit) bytes"
        }
    }

    private func take(_ line: ByteBufferView.SubSequence, context: ChannelHandlerContext) {
        switch state {
        case .statusLine:
            guard let status = Self.status(of: line) else {
                return decide(.failure(.invalidResponse("malformed status line \(Self.quoted(line))")), context: context)
            }
            if (100...199).contains(status) && status != 101 {
                state = .interimHeaders
            } else if expectStatus.contains(status) {
                decide(.success(.status(status)), context: context)
            } else {
                decide(.failure(.status(status)), context: context)
            }
        case .interimHeaders:
            if line.isEmpty { state = .statusLine }
        case .decided:
            break
        }
    }

    /// The status code of `HTTP/1.x SP 3DIGIT [SP reason]`; `nil` for anything else.
    static func status(of line: some Collection<UInt8>) -> Int? {
        // "HTTP/1.1 200" is the shortest.
        guard line.count >= 12 else { return nil }
        var index = line.startIndex
        for expected in "HTTP/1.".utf8 {
            guard line[index] == expected else { return nil }
            index = line.index(after: index)
        }
        // Minor version digit, then one space.
        guard isDigit(line[index]) else { return nil }
        index = line.index(after: index)
        guard line[index] == UInt8(ascii: " ") else { return nil }
        index = line.index(after: index)
        var status = 0
        for position in 0..<3 {
            let byte = line[index]
            guard isDigit(byte), position > 0 || byte != UInt8(ascii: "0") else { return nil }
            status = status * 10 + Int(byte - UInt8(ascii: "0"))
            index = line.index(after: index)
        }
        guard index == line.endIndex || line[index] == UInt8(ascii: " ") else { return nil }
        return status
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// The line for a reason: at most 40 bytes, anything but printable ASCII as `.`.
    static func quoted(_ line: some Collection<UInt8>) -> String {
        let shown = line.prefix(40).map { byte -> Character in
            byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") ? Character(UnicodeScalar(byte)) : "."
        }
        return "\"\(String(shown))\(line.count > 40 ? "…" : "")\""
    }

    private func decide(_ outcome: Result<ProbeSuccess, ProbeFailure>, context: ChannelHandlerContext) {
        state = .decided
        pending = nil
        switch outcome {
        case .success(let success): verdict.succeed(success)
        case .failure(let failure): verdict.fail(failure)
        }
        context.close(promise: nil)
    }
}
