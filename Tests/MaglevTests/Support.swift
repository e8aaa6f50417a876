import Maglev

/// SplitMix64 (Steele, Lea & Flood, 2014): a fixed-seed generator whose sequence is the
/// same everywhere, unlike `SystemRandomNumberGenerator`, so failures reproduce.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A value in `range`; the modulo bias (< 2⁻⁵⁰ here) does not matter to tests.
    mutating func next(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    /// Fisher–Yates with this generator: the same permutation on every Swift version,
    /// which `shuffled(using:)` does not promise.
    mutating func shuffled<T>(_ elements: [T]) -> [T] {
        var result = elements
        for index in stride(from: result.count - 1, to: 0, by: -1) {
            result.swapAt(index, next(in: 0...index))
        }
        return result
    }
}

/// The identity the control plane uses for an IPv4 backend: ::ffff:a.b.c.d.
func ipv4Identity(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> [UInt8] {
    Array(repeating: 0, count: 10) + [0xff, 0xff, a, b, c, d]
}

/// ::ffff:10.x.y.z for backend number `index`.
func identity(_ index: Int) -> [UInt8] {
    ipv4Identity(10, UInt8(index >> 16 & 0xff), UInt8(index >> 8 & 0xff), UInt8(index & 0xff))
}

func backend(_ index: Int, weight: Int = 1) -> MaglevBackend {
    try! MaglevBackend(id: identity(index), weight: weight)
}

func equalBackends(_ count: Int) -> [MaglevBackend] {
    (0..<count).map { backend($0) }
}

/// Each slot's backend identity (nil for an empty table): what a ring holds.
func identities(_ table: MaglevTable) -> [[UInt8]?] {
    (0..<table.size).map { table.backend(atSlot: $0)?.id }
}
