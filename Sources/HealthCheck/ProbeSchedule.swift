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
