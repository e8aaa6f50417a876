/// Why a call to lbd did not succeed, sorted by what the caller should do about it
/// (lbctl maps each to its own exit code).
public enum LBDClientError: Error, Equatable, Sendable {
    /// lbd answered with a status other than 2xx; `message` is its `{"error": ...}` text,
    /// or says which status it was when the body has none.
    case refused(status: Int, message: String)
    /// lbd answered something that is not the contract: not HTTP, or JSON of another shape.
    case unreadable(String)
    /// The socket path cannot name a unix socket; nothing was sent.
    case badSocketPath(String)
    /// lbd could not be reached, or did not answer in time: retrying may help.
    case unreachable(String)
    /// lbd saved the change, but a datapath write failed; lbd retries it (`ErrorCode.datapathPending`).
    case datapathPending(String)
    /// An apply's plan is out of date: the services changed since (`ErrorCode.stateChanged`).
    case stateChanged(String)
}
