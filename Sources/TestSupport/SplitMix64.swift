/// SplitMix64 (Steele, Lea & Flood, 2014): a fixed-seed generator whose sequence is the
/// same everywhere, unlike `SystemRandomNumberGenerator`, so a failing test or fuzz run
/// reproduces from its seed. For tests and benchmarks only.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A value in `range`; the modulo bias (< 2⁻⁵⁰ here) does not matter to tests.
    public mutating func next(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    /// Fisher–Yates with this generator: the same permutation on every Swift version,
    /// which `shuffled(using:)` does not promise.
    public mutating func shuffled<T>(_ elements: [T]) -> [T] {
        var result = elements
        for index in stride(from: result.count - 1, to: 0, by: -1) {
            result.swapAt(index, next(in: 0...index))
        }
        return result
    }
}
