/// An Ethernet address, `02:00:00:00:00:01`: the next hop every encapsulated packet is
/// sent to (the balancer transmits on the interface it received on, toward the gateway).
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// Six pairs of hex digits separated by colons. A multicast or all-zero address is
    /// refused: a gateway is one unicast station.
    public init(_ text: String) throws(ParseError) {
        let fail = { (reason: String) in ParseError("bad MAC address '\(text)': \(reason)") }
        let pairs = text.split(separator: ":", omittingEmptySubsequences: false)
        guard pairs.count == 6, pairs.allSatisfy({ $0.count == 2 }) else {
            throw fail("expected six pairs of hex digits separated by colons, e.g. 02:00:00:00:00:01")
        }
        var bytes: [UInt8] = []
        for pair in pairs {
            guard pair.allSatisfy(\.isHexDigit), let byte = UInt8(pair, radix: 16) else {
                throw fail("'\(pair)' is not two hex digits")
            }
            bytes.append(byte)
        }
        guard bytes[0] & 1 == 0 else { throw fail("a multicast address cannot be a gateway") }
        guard bytes.contains(where: { $0 != 0 }) else { throw fail("the all-zero address cannot be a gateway") }
        self.bytes = bytes
    }

    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }
}
