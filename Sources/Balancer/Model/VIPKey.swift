/// The transport protocol of a VIP; the datapath balances TCP and UDP only.
public enum TransportProtocol: String, Hashable, Comparable, Sendable, CaseIterable {
    case tcp
    case udp

    /// The IP protocol number the datapath keys VIPs by (IPPROTO_TCP, IPPROTO_UDP).
    public var ipProtocolNumber: UInt8 { self == .tcp ? 6 : 17 }

    public static func < (lhs: TransportProtocol, rhs: TransportProtocol) -> Bool { lhs == .tcp && rhs == .udp }
}

/// What identifies a service: the address, port and protocol clients connect to, written
/// `10.0.0.10:80/tcp` or `[2001:db8::10]:443/tcp`. Port 0 takes every port of the
/// address; a VIP with the exact port wins over it in the datapath.
public struct VIPKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let port: UInt16
    public let proto: TransportProtocol

    public init(address: IPAddress, port: UInt16, proto: TransportProtocol) {
        self.address = address
        self.port = port
        self.proto = proto
    }

    /// Parses `address:port/proto`, with the IPv6 address in brackets. Every part is
    /// required (port 0 for all ports), so a forgotten port or protocol is an error
    /// rather than a guess.
    public init(_ text: String) throws(ParseError) {
        let fail = { (reason: String) in ParseError("bad VIP '\(text)': \(reason)") }
        let example = "expected address:port/proto, e.g. 10.0.0.10:80/tcp or [2001:db8::10]:443/tcp"
        guard let slash = text.lastIndex(of: "/") else { throw fail("no protocol; \(example)") }
        let protoText = String(text[text.index(after: slash)...])
        guard let proto = TransportProtocol(rawValue: protoText) else {
            throw fail("protocol '\(protoText)' is not tcp or udp")
        }
        let hostPort = text[..<slash]
        let hostText: Substring
        let portText: Substring
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw fail("'[' without ']'") }
            hostText = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let rest = hostPort[hostPort.index(after: close)...]
            guard rest.hasPrefix(":") else { throw fail("no port after ']'; \(example)") }
            portText = rest.dropFirst()
        } else {
            guard let colon = hostPort.lastIndex(of: ":") else { throw fail("no port; \(example)") }
            hostText = hostPort[..<colon]
            portText = hostPort[hostPort.index(after: colon)...]
            if hostText.contains(":") { throw fail("an IPv6 address needs brackets: [\(hostText)]:\(portText)/\(proto)") }
        }
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw fail("port '\(portText)' is not a number (0 means every port)")
        }
        guard let port = UInt16(portText) else { throw fail("port \(portText) is above 65535") }
        let address: IPAddress
        do {
            address = try IPAddress(String(hostText))
        } catch {
            throw fail(error.description)
        }
        self.init(address: address, port: port, proto: proto)
    }

    public var description: String {
        let host = address.family == .v4 ? address.description : "[\(address)]"
        return "\(host):\(port)/\(proto.rawValue)"
    }

    /// By address (identity order), then port, then protocol: listings and the state
    /// file come out in this order.
    public static func < (lhs: VIPKey, rhs: VIPKey) -> Bool {
        (lhs.address, lhs.port, lhs.proto) < (rhs.address, rhs.port, rhs.proto)
    }
}

extension VIPKey: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try VIPKey(text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
