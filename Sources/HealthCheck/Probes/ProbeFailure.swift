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
