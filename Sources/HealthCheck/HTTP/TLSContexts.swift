import NIOConcurrencyHelpers
import NIOSSL

/// The two client TLS contexts a monitor needs (verifying and not), made on first use
/// and shared: a context loads the trust store, too costly to repeat per check.
final class TLSContexts: Sendable {
    private let contexts = NIOLockedValueBox<[Bool: NIOSSLContext]>([:])

    func context(verify: Bool) throws -> NIOSSLContext {
        try contexts.withLockedValue { contexts in
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
}
