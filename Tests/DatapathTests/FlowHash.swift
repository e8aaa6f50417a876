import Datapath

/// The balancer's flow hash (bpf/lib/hash.h), re-derived here so the tests can predict
/// the ring slot of a flow and the outer source and flow label of its encapsulation.
/// BPF reads big-endian header words as little-endian integers; so does this code.
enum FlowHash {
    /// A network-order field as the BPF program sees it on a little-endian CPU.
    static func word(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func addressHash(_ h: UInt32, _ addr: [UInt8]) -> UInt32 {
        stride(from: 0, to: addr.count, by: 4).reduce(h) { Murmur.mix($0, word(addr[$1..<$1 + 4])) }
    }

    static func port(_ p: UInt16) -> UInt32 { UInt32(p >> 8) | UInt32(p & 0xff) << 8 }

    static func flow(src: [UInt8], dst: [UInt8], sport: UInt16, dport: UInt16, proto: UInt8, sourceOnly: Bool = false) -> UInt32 {
        var h = addressHash(Murmur.seed, src)
        if !sourceOnly {
            h = addressHash(h, dst)
            h = Murmur.mix(h, port(sport) << 16 | port(dport))
            h = Murmur.mix(h, UInt32(proto))
        }
        return Murmur.final(h)
    }

    static func client(src: [UInt8], sport: UInt16) -> UInt32 {
        Murmur.final(Murmur.mix(addressHash(Murmur.seed ^ 0x5bd1e995, src), port(sport)))
    }

    static func slot(_ hash: UInt32, ringSize: UInt32) -> UInt32 { Murmur.reduce(hash, ringSize) }

    static func littleEndianBytes(_ v: UInt32) -> [UInt8] {
        [UInt8(v & 0xff), UInt8((v >> 8) & 0xff), UInt8((v >> 16) & 0xff), UInt8(v >> 24)]
    }

    /// Outer IPv4 source: prefix bits from the configuration, host bits from the client hash.
    static func outerSourceV4(prefix: [UInt8], mask: [UInt8], client: UInt32) -> [UInt8] {
        let p = word(prefix[0..<4]), m = word(mask[0..<4])
        return littleEndianBytes((p & m) | (client & ~m))
    }

    static func outerSourceV6(prefix: [UInt8], mask: [UInt8], client: UInt32) -> [UInt8] {
        (0..<4).flatMap { i -> [UInt8] in
            let p = word(prefix[i * 4..<i * 4 + 4]), m = word(mask[i * 4..<i * 4 + 4])
            let host = i == 0 ? client : Murmur.rotl(client, UInt32(8 * i))
            return littleEndianBytes((p & m) | (host & ~m))
        }
    }
}
