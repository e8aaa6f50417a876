/// Murmur3's 32-bit block and finaliser, as bpf/lib/hash.h computes them: what the
/// control plane needs to find a flow where the program put it (`FlowTable`), and what
/// the tests use to predict ring slots and outer sources.
public enum Murmur {
    public static let seed: UInt32 = 0x6c62640a

    public static func rotl(_ x: UInt32, _ r: UInt32) -> UInt32 { (x << r) | (x >> (32 - r)) }

    public static func mix(_ h: UInt32, _ word: UInt32) -> UInt32 {
        var w = word &* 0xcc9e2d51
        w = rotl(w, 15)
        w = w &* 0x1b873593
        var h = h ^ w
        h = rotl(h, 13)
        return h &* 5 &+ 0xe6546b64
    }

    public static func final(_ h: UInt32) -> UInt32 {
        var h = h
        h ^= h >> 16
        h = h &* 0x85ebca6b
        h ^= h >> 13
        h = h &* 0xc2b2ae35
        h ^= h >> 16
        return h
    }

    /// hash_reduce(): `h` mapped onto 0..<n by a multiply and a shift.
    public static func reduce(_ h: UInt32, _ n: UInt32) -> UInt32 {
        UInt32((UInt64(h) * UInt64(n)) >> 32)
    }
}
