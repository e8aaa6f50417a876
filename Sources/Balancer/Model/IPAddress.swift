/// An IPv4 or IPv6 address: what a VIP listens on and where a backend is.
///
/// Every address has a 16-byte `identity`: IPv6 as is, IPv4 as IPv4-mapped IPv6
/// (`::ffff:a.b.c.d`). It is the backend's Maglev identity (Maglev.docc/Format.md),
/// so it must never change for a given address; ordering follows it too, which makes
/// every listing of backends come out in the tables' canonical order. Because an
/// IPv4-mapped IPv6 address would share its identity with the IPv4 address, such
/// addresses are refused as IPv6: write the IPv4 form.
public struct IPAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public enum Family: String, Hashable, Comparable, Sendable, CustomStringConvertible {
        case v4 = "IPv4"
        case v6 = "IPv6"

        public var description: String { rawValue }

        public static func < (lhs: Family, rhs: Family) -> Bool { lhs == .v4 && rhs == .v6 }
    }

    public let family: Family
    /// The identity, bytes 0–7 and 8–15 read big-endian.
    private let high: UInt64
    private let low: UInt64

    private static let mappedPrefix: UInt64 = 0x0000_ffff_0000_0000

    private init(family: Family, high: UInt64, low: UInt64) {
        self.family = family
        self.high = high
        self.low = low
    }

    /// The IPv4 address whose network-order bytes are `value`'s big-endian bytes.
    init(ipv4 value: UInt32) {
        self.init(family: .v4, high: 0, low: Self.mappedPrefix | UInt64(value))
    }

    /// An address from its network-order bytes: 4 for IPv4, 16 for IPv6 (an IPv4-mapped
    /// IPv6 address gives nil, as when parsed). For reading addresses back from the
    /// datapath's maps.
    public init?(bytes: some Collection<UInt8>) {
        let bytes = Array(bytes)
        switch bytes.count {
        case 4:
            self.init(ipv4: bytes.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            let high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
            let low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
            guard high != 0 || low >> 32 != 0xffff else { return nil }
            self.init(family: .v6, high: high, low: low)
        default:
            return nil
        }
    }

    /// The 16-byte Maglev identity: IPv6 bytes, or `::ffff:a.b.c.d` for IPv4.
    public var identity: [UInt8] {
        (0..<8).reversed().map { UInt8(truncatingIfNeeded: high >> ($0 * 8)) }
            + (0..<8).reversed().map { UInt8(truncatingIfNeeded: low >> ($0 * 8)) }
    }

    /// Network-order bytes: 4 for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        family == .v4 ? Array(identity[12...]) : identity
    }

    /// The IPv4 address as a number (a.b.c.d = a << 24 | …); nil for IPv6.
    var ipv4Value: UInt32? {
        family == .v4 ? UInt32(truncatingIfNeeded: low) : nil
    }

    /// The eight 16-bit groups of an IPv6 address.
    var groups: [UInt16] {
        (0..<4).reversed().map { UInt16(truncatingIfNeeded: high >> ($0 * 16)) }
            + (0..<4).reversed().map { UInt16(truncatingIfNeeded: low >> ($0 * 16)) }
    }

    /// Builds an IPv6 address from eight groups; nil for an IPv4-mapped one.
    init?(ipv6Groups groups: [UInt16]) {
        guard groups.count == 8 else { return nil }
        let high = groups[0..<4].reduce(0) { $0 << 16 | UInt64($1) }
        let low = groups[4..<8].reduce(0) { $0 << 16 | UInt64($1) }
        guard high != 0 || low >> 32 != 0xffff else { return nil }
        self.init(family: .v6, high: high, low: low)
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }

    // MARK: Kinds of addresses no VIP or backend may have

    /// 0.0.0.0 or ::.
    var isUnspecified: Bool {
        family == .v4 ? ipv4Value == 0 : high == 0 && low == 0
    }

    /// 127.0.0.0/8 or ::1.
    var isLoopback: Bool {
        family == .v4 ? ipv4Value.map { $0 >> 24 == 127 } ?? false : high == 0 && low == 1
    }

    /// 224.0.0.0/4 or ff00::/8.
    var isMulticast: Bool {
        family == .v4 ? ipv4Value.map { $0 >> 28 == 0xe } ?? false : high >> 56 == 0xff
    }

    /// 255.255.255.255.
    var isBroadcast: Bool {
        ipv4Value == .max
    }
}
