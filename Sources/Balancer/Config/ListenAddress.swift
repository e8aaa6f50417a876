/// Where a TCP server listens: `127.0.0.1:9750` or `[::1]:9750`.
public struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// `address:port`, the IPv6 address in brackets; port 1...65535.
    public init(_ text: String) throws(ParseError) {
        let fail = { (reason: String) in ParseError("bad listen address '\(text)': \(reason)") }
        let hostText: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw fail("expected [address]:port")
            }
            hostText = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw fail("expected address:port, e.g. 127.0.0.1:9750") }
            hostText = text[..<colon]
            portText = text[text.index(after: colon)...]
            if hostText.contains(":") { throw fail("an IPv6 address needs brackets: [\(hostText)]:\(portText)") }
        }
        guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = UInt16(portText), port != 0 else {
            throw fail("port '\(portText)' is not in 1...65535")
        }
        do {
            address = try IPAddress(String(hostText))
        } catch {
            throw fail(error.description)
        }
        self.port = port
    }

    public var description: String {
        address.family == .v4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }
}
