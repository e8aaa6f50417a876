import CLBABI

/// Addresses as the ABI structs hold them: four big-endian words, IPv4 in word 0.
public enum ABIAddress {
    /// The tuple form of a 4-byte (IPv4) or 16-byte (IPv6) address in network order.
    public static func words(_ bytes: [UInt8]) -> (UInt32, UInt32, UInt32, UInt32) {
        precondition(bytes.count == 4 || bytes.count == 16, "an address is 4 or 16 bytes")
        let padded = bytes + [UInt8](repeating: 0, count: 16 - bytes.count)
        func word(_ i: Int) -> UInt32 { padded[i * 4..<i * 4 + 4].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } }
        return (word(0), word(1), word(2), word(3))
    }

    /// LB_FAMILY_V4 or LB_FAMILY_V6 for a 4- or 16-byte address.
    public static func family(_ bytes: [UInt8]) -> UInt8 {
        UInt8(bytes.count == 4 ? LB_FAMILY_V4 : LB_FAMILY_V6)
    }
}
