import NIOCore

/// When the checks of one target run: every `interval`, each wait stretched or shrunk
/// by a random factor within ±`jitter`, and the first one delayed by up to
/// `jitter` × `interval`.
///
/// Targets added together (at start, on a reload) would otherwise check in lockstep
/// forever, every backend seeing its checks from all VIPs at the same instant.
///
/// Start times are then rounded up to a grid of 1% of the interval, at most 10 ms
/// (`grid`), so the timers of thousands of targets fall on a few instants per interval
/// and fire together in one wakeup of their event loop, instead of one wakeup each.
/// The jitter still spreads targets over the grid's slots.
struct ProbeSchedule: Sendable {
    let interval: Duration
    let jitter: Double
    /// The grid's step, in nanoseconds.
    let grid: Int64
    private let intervalNanoseconds: Double

    /// The coarsest grid: 10 ms, well under any timeout's resolution that matters.
    static let maximumGrid: Int64 = 10_000_000

    init(interval: Duration, jitter: Double) {
        self.interval = interval
        self.jitter = jitter
        grid = max(1, min(Self.maximumGrid, TimeAmount(interval).nanoseconds / 100))
        intervalNanoseconds = Double(TimeAmount(interval).nanoseconds)
    }

    /// `deadline` rounded up to the grid.
    func aligned(_ deadline: NIODeadline) -> NIODeadline {
        .uptimeNanoseconds(aligned(deadline.uptimeNanoseconds))
    }

    /// `uptime` (nanoseconds) rounded up to the grid.
    func aligned(_ uptime: UInt64) -> UInt64 {
        let grid = UInt64(grid)
        let remainder = uptime % grid
        return remainder == 0 ? uptime : uptime - remainder + grid
    }

    func firstDelay(using random: inout some RandomNumberGenerator) -> Duration {
        .nanoseconds(Int64(firstDelayNanoseconds(using: &random)))
    }

    func nextDelay(using random: inout some RandomNumberGenerator) -> Duration {
        .nanoseconds(Int64(nextDelayNanoseconds(using: &random)))
    }

    /// `firstDelay` in nanoseconds: integer arithmetic, no `Duration` math per check.
    func firstDelayNanoseconds(using random: inout some RandomNumberGenerator) -> UInt64 {
        guard jitter > 0 else { return 0 }
        return UInt64(intervalNanoseconds * Double.random(in: 0...jitter, using: &random))
    }

    func nextDelayNanoseconds(using random: inout some RandomNumberGenerator) -> UInt64 {
        guard jitter > 0 else { return UInt64(intervalNanoseconds) }
        return UInt64(intervalNanoseconds * (1 + Double.random(in: -jitter...jitter, using: &random)))
    }
}
