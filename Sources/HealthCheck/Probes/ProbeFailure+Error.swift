#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOHTTP1
import NIOSSL

extension ProbeFailure {
    /// The operator's reason for a socket, TLS or HTTP parsing error raised in `phase`.
    init(_ error: any Error, during phase: ProbePhase) {
        switch error {
        case let failure as ProbeFailure:
            self = failure
        case let error as IOError:
            self.init(errno: error.errnoCode, during: phase)
        case ChannelError.connectTimeout(let amount):
            self = .timeout(after: .nanoseconds(amount.nanoseconds), during: .connecting)
        case ChannelError.eof, ChannelError.ioOnClosedChannel, ChannelError.alreadyClosed,
            ChannelError.inputClosed, ChannelError.outputClosed:
            self = .connectionClosed(during: phase)
        case NIOSSLError.uncleanShutdown:
            self = .connectionClosed(during: phase)
        case NIOSSLError.handshakeFailed(let error):
            self = .tls("handshake failed: \(Self.boringSSLReasons(error))")
        case let error as NIOSSLError:
            self = .tls("\(error)")
        case let error as NIOSSLExtraError:
            self = .tls("\(error)")
        case let error as HTTPParserError:
            self = .invalidResponse("\(error)")
        default:
            self = .error("\(error)")
        }
    }

    init(errno code: CInt, during phase: ProbePhase) {
        switch code {
        case ECONNREFUSED: self = .connectionRefused
        case ECONNRESET, EPIPE: self = .connectionReset(during: phase)
        case EHOSTUNREACH, ENETUNREACH, ENETDOWN, EHOSTDOWN:
            self = .unreachable(Self.text(errno: code))
        case _ where Self.localErrnos.contains(code): self = .local(Self.text(errno: code))
        default: self = .error(Self.text(errno: code))
        }
    }

    /// What the LB host runs out of or forbids itself: descriptors (EMFILE, ENFILE),
    /// socket buffers (ENOBUFS), memory (ENOMEM), ephemeral ports or a source address
    /// (EADDRNOTAVAIL, EADDRINUSE), a local firewall's reject (EPERM, EACCES), a family
    /// the host has turned off (EAFNOSUPPORT). None of them is the backend's answer.
    private static let localErrnos: Set<CInt> = [
        EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL, EADDRINUSE, EPERM, EACCES, EAFNOSUPPORT,
    ]

    /// "No route to host" → "no route to host", as reasons are written.
    private static func text(errno code: CInt) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }

    /// BoringSSL's reason codes from an error stack, in words: `CERTIFICATE_VERIFY_FAILED`
    /// → "certificate verify failed"; the stack's numbers and file names say nothing to
    /// an operator.
    private static func boringSSLReasons(_ error: BoringSSLError) -> String {
        let words = "\(error)".split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "_" })
        let reasons = words.filter { word in
            word.count > 3 && word.contains("_") && word != "OPENSSL_internal"
                && word.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" }
        }
        guard !reasons.isEmpty else { return "\(error)" }
        var seen: Set<Substring> = []
        return reasons.filter { seen.insert($0).inserted }
            .map { $0.lowercased().replacingUnderscores }
            .joined(separator: ", ")
    }
}

extension String {
    fileprivate var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}
