/// The checks of one target, run until it is stopped or its task is cancelled.
///
/// Stopping is prompt: the loop waits for its stop signal alongside its checks, and
/// when the signal comes the check in flight is cancelled, which closes its socket,
/// rather than left to finish after its target is gone.
struct ProbeLoop: Sendable {
    let id: UInt64
    let target: HealthTarget
    private let stopSignal: AsyncStream<Never>
    private let stopSink: AsyncStream<Never>.Continuation

    init(id: UInt64, target: HealthTarget) {
        self.id = id
        self.target = target
        (stopSignal, stopSink) = AsyncStream.makeStream()
    }

    func stop() {
        stopSink.finish()
    }

    func run(prober: any Prober, limiter: ProbeLimiter, report: @escaping @Sendable (ProbeResult) async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in stopSignal {}
            }
            group.addTask {
                await checkUntilCancelled(prober: prober, limiter: limiter, report: report)
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Checks start on a fixed cadence (start to start), so the number of checks over a
    /// span is the span over the interval whatever each one's latency; one delayed by
    /// the limiter does not cause a burst of catching up.
    private func checkUntilCancelled(
        prober: any Prober, limiter: ProbeLimiter, report: @Sendable (ProbeResult) async -> Void
    ) async {
        let clock = ContinuousClock()
        let schedule = ProbeSchedule(interval: target.definition.interval, jitter: target.definition.jitter)
        var random = SystemRandomNumberGenerator()
        var next = clock.now + schedule.firstDelay(using: &random)
        while true {
            do {
                try await clock.sleep(until: next)
            } catch {
                return
            }
            guard let result = await limiter.withPermit({ await prober.probe(target) }), !Task.isCancelled else {
                return
            }
            await report(result)
            next = max(next + schedule.nextDelay(using: &random), clock.now)
        }
    }
}
