/// What happens to a service's established flows when their backend goes down
/// (`on_backend_down`). Drained backends are not down: their flows always stay.
public enum BackendDownPolicy: String, Hashable, Sendable, CaseIterable, Codable {
    /// The default: each flow is re-picked from the ring with its next packet. The other
    /// backend answers the client's mid-connection segment with an RST, so the client
    /// fails at once and reconnects to a backend that is up, rather than retransmitting
    /// for minutes into a host that may be gone. rise/fall already keeps a single failed
    /// check from marking a backend down, and this was lbd's behaviour before the choice.
    case move
    /// Katran's behaviour: flows stay on the down backend until they end (FIN / RST and
    /// the linger, or the idle timeout); only new flows avoid it. A check that fails
    /// while the backend still serves (a flap, an overloaded health endpoint) then breaks
    /// no established connection; a backend that is really gone black-holes its flows
    /// until the clients give up.
    case keep

    /// Reads `move` or `keep`.
    public init(_ text: String) throws(ParseError) {
        guard let policy = BackendDownPolicy(rawValue: text) else {
            throw ParseError("bad on_backend_down '\(text)': expected move or keep")
        }
        self = policy
    }
}
