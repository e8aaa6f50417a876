import CLBABI

/// The VIP filter's bit for an address: `lb_addr_hash` of bpf/lib/hash.h, computed the
/// same way here (the program reads big-endian header words as little-endian integers).
public enum VIPFilter {
    private static let seed: UInt32 = Murmur.seed ^ 0x2545_f491

    public static func bit(for address: [UInt8]) -> Int {
        let words = ABIAddress.words(address)
        var h = Murmur.mix(seed, words.0)
        if address.count == 16 {
            h = Murmur.mix(Murmur.mix(Murmur.mix(h, words.1), words.2), words.3)
        }
        return Int(Murmur.final(h) % UInt32(LB_VIP_FILTER_BITS))
    }

    /// The filter with a bit set for each of `addresses`.
    public static func filter(for addresses: [[UInt8]]) -> lb_vip_filter {
        var filter = lb_vip_filter()
        withUnsafeMutableBytes(of: &filter.words) { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for address in addresses {
                let bit = bit(for: address)
                words[bit / 64] |= 1 << UInt64(bit % 64)
            }
        }
        return filter
    }

    /// Whether `filter` has the bit of `address` set.
    public static func contains(_ filter: lb_vip_filter, _ address: [UInt8]) -> Bool {
        let bit = bit(for: address)
        return withUnsafeBytes(of: filter.words) { raw in
            raw.bindMemory(to: UInt64.self)[bit / 64] & (1 << UInt64(bit % 64)) != 0
        }
    }
}
