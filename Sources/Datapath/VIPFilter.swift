import CLBABI

/// The VIP filter's bit for an address: `lb_addr_hash` of bpf/lib/hash.h, computed the
/// same way here (the program reads big-endian header words as little-endian integers).
public enum VIPFilter {
    private static let seed: UInt32 = 0x6c62_640a ^ 0x2545_f491

    public static func bit(for address: [UInt8]) -> Int {
        let words = ABIAddress.words(address)
        var h = mix(seed, words.0)
        if address.count == 16 {
            h = mix(mix(mix(h, words.1), words.2), words.3)
        }
        return Int(final(h) % UInt32(LB_VIP_FILTER_BITS))
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

    private static func rotl(_ x: UInt32, _ r: UInt32) -> UInt32 { (x << r) | (x >> (32 - r)) }

    private static func mix(_ h: UInt32, _ word: UInt32) -> UInt32 {
        let w = rotl(word &* 0xcc9e_2d51, 15) &* 0x1b87_3593
        return rotl(h ^ w, 13) &* 5 &+ 0xe654_6b64
    }

    private static func final(_ h: UInt32) -> UInt32 {
        var h = h
        h ^= h >> 16
        h = h &* 0x85eb_ca6b
        h ^= h >> 13
        h = h &* 0xc2b2_ae35
        return h ^ (h >> 16)
    }
}
