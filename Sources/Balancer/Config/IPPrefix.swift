/// An address prefix in CIDR notation, `172.16.0.0/16` or `fd00:1bd::/64`: the outer
/// source range of encapsulated packets (the datapath fills the host bits from a hash
/// of the client, spreading flows over the backends' receive queues).
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let length: Int

    /// Host bits must be zero, so the written prefix is the one used (`172.16.0.1/16`
    /// is refused with the prefix it probably meant).
    public init(_ text: String) throws(ParseError) {
        let fail = { (reason: String) in ParseError("bad prefix '\(text)': \(reason)") }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw fail("expected address/length, e.g. 172.16.0.0/16") }
        let address: IPAddress
        do {
            address = try IPAddress(String(parts[0]))
        } catch {
            throw fail(error.description)
        }
        let maxLength = address.family == .v4 ? 32 : 128
        guard parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let length = Int(parts[1]),
              (1...maxLength).contains(length) else {
            throw fail("length '\(parts[1])' is not in 1...\(maxLength)")
        }
        let masked = Self.masked(address, length: length)
        guard masked == address else { throw fail("host bits are set; did you mean \(masked)/\(length)?") }
        self.address = address
        self.length = length
    }

    /// The prefix of `length` bits that contains `address` (host bits cleared).
    public init(covering address: IPAddress, length: Int) {
        let maxLength = address.family == .v4 ? 32 : 128
        self.length = min(max(length, 0), maxLength)
        self.address = Self.masked(address, length: self.length)
    }

    public var description: String { "\(address)/\(length)" }

    /// The network mask as bytes of the address's family (255.255.0.0 for a /16).
    public var maskBytes: [UInt8] {
        Self.maskBytes(count: address.family == .v4 ? 4 : 16, length: length)
    }

    private static func masked(_ address: IPAddress, length: Int) -> IPAddress {
        let bytes = address.bytes
        let mask = maskBytes(count: bytes.count, length: length)
        return IPAddress(bytes: zip(bytes, mask).map { $0 & $1 }) ?? address
    }

    private static func maskBytes(count: Int, length: Int) -> [UInt8] {
        (0..<count).map { index in
            let bits = min(max(length - index * 8, 0), 8)
            return UInt8(truncatingIfNeeded: 0xff << (8 - bits))
        }
    }
}
