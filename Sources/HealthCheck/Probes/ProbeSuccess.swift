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
