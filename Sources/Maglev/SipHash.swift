/// SipHash-2-4 (Aumasson & Bernstein, 2012) with a 128-bit key, returning 64 bits.
///
/// Why SipHash and not `Hasher`: `Hasher` is seeded randomly per process, and every
/// load balancer node must compute the same permutation for a backend. Why not a
/// weaker hash such as FNV-1a: identities differ in few bytes (neighbouring
/// addresses), and offset and skip need well-mixed bits from them. SipHash is
/// fully specified, has published test vectors, and costs nothing here (one hash
/// per backend and key).
///
/// Part of the table format (see Maglev.docc/Format.md): changing it changes every table.
/// Also what names a build of a BPF object and its map layouts (Datapath's loader).
public struct SipHash24: Sendable {
    private let k0: UInt64
    private let k1: UInt64

    /// The key as 16 bytes; k0 and k1 are its two halves read little-endian.
    public init(key: [UInt8]) {
        precondition(key.count == 16, "SipHash key is 16 bytes")
        (k0, k1) = key.withUnsafeBytes { key in
            (Self.littleEndianWord(UnsafeRawBufferPointer(rebasing: key[0..<8])),
             Self.littleEndianWord(UnsafeRawBufferPointer(rebasing: key[8..<16])))
        }
    }

    public func hash(_ message: [UInt8]) -> UInt64 {
        message.withUnsafeBytes { bytes in
            var state = State(k0: k0, k1: k1)
            let wholeWords = bytes.count / 8 * 8
            for start in stride(from: 0, to: wholeWords, by: 8) {
                state.compress(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: start, as: UInt64.self)))
            }
            // Last word: the remaining bytes, and the message length mod 256 in the top byte.
            let tail = Self.littleEndianWord(UnsafeRawBufferPointer(rebasing: bytes[wholeWords...]))
            state.compress(tail | UInt64(truncatingIfNeeded: bytes.count) << 56)
            return state.finalize()
        }
    }

    /// Up to 8 bytes read as a little-endian integer (missing high bytes are zero).
    private static func littleEndianWord(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        bytes.reversed().reduce(0) { word, byte in word << 8 | UInt64(byte) }
    }

    private struct State {
        var v0, v1, v2, v3: UInt64

        init(k0: UInt64, k1: UInt64) {
            v0 = k0 ^ 0x736f_6d65_7073_6575
            v1 = k1 ^ 0x646f_7261_6e64_6f6d
            v2 = k0 ^ 0x6c79_6765_6e65_7261
            v3 = k1 ^ 0x7465_6462_7974_6573
        }

        mutating func compress(_ word: UInt64) {
            v3 ^= word
            round()
            round()
            v0 ^= word
        }

        mutating func finalize() -> UInt64 {
            v2 ^= 0xff
            for _ in 0..<4 { round() }
            return v0 ^ v1 ^ v2 ^ v3
        }

        private mutating func round() {
            v0 &+= v1; v1 = v1.rotatedLeft(13); v1 ^= v0; v0 = v0.rotatedLeft(32)
            v2 &+= v3; v3 = v3.rotatedLeft(16); v3 ^= v2
            v0 &+= v3; v3 = v3.rotatedLeft(21); v3 ^= v0
            v2 &+= v1; v1 = v1.rotatedLeft(17); v1 ^= v2; v2 = v2.rotatedLeft(32)
        }
    }
}

extension UInt64 {
    fileprivate func rotatedLeft(_ count: UInt64) -> UInt64 {
        self << count | self >> (64 - count)
    }
}
