/// Where in a check time ran out or the connection ended, so "timeout" says whether
/// the backend's kernel (connecting), its TLS stack or its application was slow.
public enum ProbePhase: String, Sendable, Hashable {
    case connecting
    case tlsHandshake = "TLS handshake"
    case awaitingResponse = "awaiting response"
    case readingBody = "reading body"
}
