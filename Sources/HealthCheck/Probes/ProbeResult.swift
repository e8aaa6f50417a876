#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The outcome of one check, when it ended and how long it took.
///
/// `latency` is raw, per result, so the metrics layer can record it in a histogram.
public struct ProbeResult: Sendable, Hashable, CustomStringConvertible {
    public let outcome: Result<ProbeSuccess, ProbeFailure>
    /// From the start of the check to its verdict (a timeout's latency is the timeout).
    public let latency: Duration
    /// When the verdict was reached.
    public let at: Date

    public init(_ outcome: Result<ProbeSuccess, ProbeFailure>, latency: Duration, at: Date) {
        self.outcome = outcome
        self.latency = latency
        self.at = at
    }

    public var isSuccess: Bool { failure == nil }

    public var failure: ProbeFailure? {
        if case .failure(let failure) = outcome { return failure }
        return nil
    }

    /// What the check saw, in words: "status 200", "connection refused".
    public var reason: String {
        switch outcome {
        case .success(let success): success.description
        case .failure(let failure): failure.description
        }
    }

    var latencyText: String { "\(latencyFormatted) ms" }

    /// The latency in milliseconds, with fractions.
    public var latencyMilliseconds: Double { latency.milliseconds }

    private var latencyFormatted: String {
        let tenths = (latency.milliseconds * 10).rounded()
        return tenths.truncatingRemainder(dividingBy: 10) == 0 ? "\(Int(tenths / 10))" : "\(tenths / 10)"
    }

    public var description: String { "\(reason) in \(latencyText)" }
}

/// What a passed check saw.
public enum ProbeSuccess: Sendable, Hashable, CustomStringConvertible {
    /// The TCP handshake completed.
    case connected
    /// An accepted status (and, when asked, the body held the expected string).
    case status(Int)
    /// A `none` check: nothing to probe, the backend is up by definition.
    case notChecked

    public var description: String {
        switch self {
        case .connected: "connected"
        case .status(let code): "status \(code)"
        case .notChecked: "not checked (type none)"
        }
    }
}

/// Where in a check time ran out or the connection ended, so "timeout" says whether
/// the backend's kernel (connecting), its TLS stack or its application was slow.
public enum ProbePhase: String, Sendable, Hashable {
    case connecting
    case tlsHandshake = "TLS handshake"
    case awaitingResponse = "awaiting response"
    case readingBody = "reading body"
}

/// Why a check failed: `description` is the operator's reason, `kind` a small closed
/// set for metric labels.
public enum ProbeFailure: Error, Sendable, Hashable, CustomStringConvertible {
    case connectionRefused
    case connectionReset(during: ProbePhase)
    /// The backend closed the connection before the check had its answer.
    case connectionClosed(during: ProbePhase)
    case timeout(after: Duration, during: ProbePhase)
    /// No route, network down: the address is not reachable from this host.
    case unreachable(String)
    case tls(String)
    case status(Int)
    case bodyMismatch(expected: String, scannedBytes: Int)
    /// The answer was not valid HTTP/1.x.
    case invalidResponse(String)
    /// Any other socket or system error, with its text.
    case error(String)
    /// The checker could not run the check for a reason of the LB host's own (no free
    /// descriptor, buffer, memory or ephemeral port; a local firewall): it says nothing
    /// about the backend, so it never counts against it (`HealthState.record`).
    case local(String)
    /// The check was stopped (its target unsubscribed, the monitor shut down); never
    /// recorded as a result.
    case cancelled

    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case refused, reset, closed, timeout, unreachable, tls, status, body, invalidResponse = "invalid_response"
        case error, local, cancelled

        /// The kinds a check's failure can take a backend down with.
        public static let countedAgainstBackends = allCases.filter { $0 != .local && $0 != .cancelled }
    }

    /// The LB host's own error, not the backend's (see `local`).
    public var isLocal: Bool { kind == .local }

    public var kind: Kind {
        switch self {
        case .connectionRefused: .refused
        case .connectionReset: .reset
        case .connectionClosed: .closed
        case .timeout: .timeout
        case .unreachable: .unreachable
        case .tls: .tls
        case .status: .status
        case .bodyMismatch: .body
        case .invalidResponse: .invalidResponse
        case .error: .error
        case .local: .local
        case .cancelled: .cancelled
        }
    }

    public var description: String {
        switch self {
        case .connectionRefused: "connection refused"
        case .connectionReset(let phase): "connection reset (\(phase.rawValue))"
        case .connectionClosed(let phase): "connection closed by the backend (\(phase.rawValue))"
        case .timeout(let after, let phase): "timeout after \(DurationText.format(after).spacedUnit) (\(phase.rawValue))"
        case .unreachable(let text): text
        case .tls(let text): "TLS error: \(text)"
        case .status(let code): "status \(code)"
        case .bodyMismatch(let expected, let scanned):
            "body mismatch: \"\(expected)\" not found in \(scanned) bytes"
        case .invalidResponse(let text): "invalid HTTP response: \(text)"
        case .error(let text): text
        case .local(let text): "not checked: the checker's own error: \(text)"
        case .cancelled: "check cancelled"
        }
    }
}

extension String {
    /// "500ms" → "500 ms", for prose.
    fileprivate var spacedUnit: String {
        guard let unit = firstIndex(where: { $0.isLetter }) else { return self }
        return "\(self[..<unit]) \(self[unit...])"
    }
}
