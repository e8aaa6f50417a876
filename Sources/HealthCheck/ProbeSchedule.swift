/// When the checks of one target run: every `interval`, each wait stretched or shrunk
/// by a random factor within ±`jitter`, and the first one delayed by up to
/// `jitter` × `interval`.
///
/// Targets added together (at start, on a reload) would otherwise check in lockstep
/// forever, every backend seeing its checks from all VIPs at the same instant.
struct ProbeSchedule: Sendable {
    let interval: Duration
    let jitter: Double

    func firstDelay(using random: inout some RandomNumberGenerator) -> Duration {
        guard jitter > 0 else { return .zero }
        return interval * Double.random(in: 0...jitter, using: &random)
    }

    func nextDelay(using random: inout some RandomNumberGenerator) -> Duration {
        guard jitter > 0 else { return interval }
        return interval * (1 + Double.random(in: -jitter...jitter, using: &random))
    }
}

/// SplitMix64, seeded once from the system generator: the jitter needs spread, not
/// secrecy, and the system generator costs a `getrandom` system call per draw.
struct ScheduleRandom: RandomNumberGenerator {
    private var state: UInt64

    init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
