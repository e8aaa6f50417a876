/// What a new flow's ring slot is hashed from.
public enum HashMode: String, Hashable, Sendable, CaseIterable, Codable {
    /// Source and destination address and port and the protocol: connections spread
    /// evenly, each on its own.
    case fiveTuple = "5tuple"
    /// The client address only: every connection of a client goes to the same backend
    /// (sticky sessions without state), at the cost of evenness behind large NATs.
    case source

    /// Reads `5tuple` or `source`.
    public init(_ text: String) throws(ParseError) {
        guard let mode = HashMode(rawValue: text) else {
            throw ParseError("bad hash mode '\(text)': expected 5tuple or source")
        }
        self = mode
    }
}
