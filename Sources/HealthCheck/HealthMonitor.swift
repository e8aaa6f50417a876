#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging

/// Runs one checker per distinct target, however many services subscribe to it, and
/// reports state changes.
///
/// Subscriptions are sets of subscriber names (the services, by VIP): subscribing twice
/// under one name is a no-op, so a reconciler can apply its desired state again freely;
/// the checker runs while at least one subscriber remains and stops when the last one
/// leaves. State changes arrive on `events`, in order per target; `status(of:)` and
/// `statuses()` give the current picture (for a new subscriber, `lbctl status`, and to
/// resynchronise after `droppedEvents` rose).
///
/// `run()` owns every check: it is a task group of one loop per target, so cancelling
/// the task that runs it stops all checks and closes their sockets; the daemon runs it
/// as a service.
public actor HealthMonitor {
    /// Changes of state, in the order they happened. One consumer (the daemon); it
    /// finishes when `run()` returns.
    public nonisolated let events: AsyncStream<HealthEvent>
    private let eventSink: AsyncStream<HealthEvent>.Continuation
    private let loopStarts: AsyncStream<ProbeLoop>
    private let loopStartSink: AsyncStream<ProbeLoop>.Continuation

    private let prober: any Prober
    private let limiter: ProbeLimiter
    private let onResult: (@Sendable (HealthTarget, ProbeResult) -> Void)?
    private let logger: Logger

    private var entries: [HealthTarget: Entry] = [:]
    private var nextLoopID: UInt64 = 0
    private var started = false

    /// Transitions since start by direction and reason.
    public private(set) var transitionCounts: [TransitionCounterKey: Int] = [:]
    /// Events dropped, oldest first, from a full buffer: a consumer this far behind
    /// should resynchronise from `statuses()`.
    public private(set) var droppedEvents = 0
    /// Check loops running now: one per subscribed target that has a probe.
    public private(set) var runningLoops = 0

    private struct Entry {
        var subscribers: Set<String>
        var health: HealthState
        /// `nil` for `none`, which is never probed.
        let loop: ProbeLoop?
    }

    /// - Parameters:
    ///   - maxConcurrentChecks: checks in flight at once, beyond which checks wait.
    ///   - eventBuffer: events kept for a slow consumer; beyond it the oldest are dropped,
    ///     so what it reads last is the latest state.
    ///   - onResult: called with every result (latency histograms); it must not block.
    public init(
        prober: any Prober = StandardProber(), maxConcurrentChecks: Int = 256, eventBuffer: Int = 10_000,
        logger: Logger = Logger(label: "lbd.healthcheck"),
        onResult: (@Sendable (HealthTarget, ProbeResult) -> Void)? = nil
    ) {
        self.prober = prober
        self.limiter = ProbeLimiter(limit: maxConcurrentChecks)
        self.onResult = onResult
        self.logger = logger
        (events, eventSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(eventBuffer))
        (loopStarts, loopStartSink) = AsyncStream.makeStream()
    }

    /// Runs the checks until the calling task is cancelled. Call once; subscriptions
    /// made before it start checking when it starts. Nonisolated, with the signature of
    /// swift-service-lifecycle's `Service.run()`, so the daemon can run the monitor as a
    /// service directly; cancellation is its shutdown.
    public nonisolated func run() async {
        await markStarted()
        await withDiscardingTaskGroup { group in
            for await loop in loopStarts {
                guard await admit(loop) else { continue }
                group.addTask { [prober, limiter] in
                    await loop.run(prober: prober, limiter: limiter) { result in
                        await self.record(result, from: loop)
                    }
                    await self.loopEnded()
                }
            }
            group.cancelAll()
        }
        eventSink.finish()
        loopStartSink.finish()
    }

    /// Adds `subscriber` to the target's subscribers, starting its checker if it is the
    /// first, in state `initial` (default: the definition's `start_state`; a restarted
    /// daemon passes what it adopted). Returns the target's current status: a new
    /// subscriber of a target that is already checked starts from its known state.
    @discardableResult
    public func subscribe(_ target: HealthTarget, subscriber: String, initial: HealthStatus? = nil) -> TargetStatus {
        var entry = entries[target] ?? startEntry(for: target, initial: initial)
        entry.subscribers.insert(subscriber)
        entries[target] = entry
        return TargetStatus(target: target, subscribers: entry.subscribers, health: entry.health)
    }

    /// Removes `subscriber` from the target's subscribers; the last one to leave stops
    /// the checker and forgets the target's state.
    public func unsubscribe(_ target: HealthTarget, subscriber: String) {
        guard var entry = entries[target], entry.subscribers.remove(subscriber) != nil else { return }
        if entry.subscribers.isEmpty {
            entries[target] = nil
            entry.loop?.stop()
        } else {
            entries[target] = entry
        }
    }

    /// Removes `subscriber` from every target (its service was deleted).
    public func unsubscribeAll(_ subscriber: String) {
        for (target, entry) in entries where entry.subscribers.contains(subscriber) {
            unsubscribe(target, subscriber: subscriber)
        }
    }

    public func status(of target: HealthTarget) -> TargetStatus? {
        entries[target].map { TargetStatus(target: target, subscribers: $0.subscribers, health: $0.health) }
    }

    /// Every target, ordered by address, port and type.
    public func statuses() -> [TargetStatus] {
        entries.map { TargetStatus(target: $0.key, subscribers: $0.value.subscribers, health: $0.value.health) }
            .sorted { ($0.target.address, $0.target.port, $0.target.definition.type.rawValue)
                < ($1.target.address, $1.target.port, $1.target.definition.type.rawValue) }
    }

    /// The quorum verdict over the targets `subscriber` uses.
    public func serviceHealth(of subscriber: String, minUp: Int) -> ServiceHealth {
        ServiceHealth(
            statuses: entries.values.filter { $0.subscribers.contains(subscriber) }.map(\.health.status), minUp: minUp)
    }

    private func markStarted() {
        precondition(!started, "HealthMonitor.run() is called once")
        started = true
    }

    /// Whether a loop is still its target's current one (the target may have been
    /// removed before `run()` got to it); counts it as running if so.
    private func admit(_ loop: ProbeLoop) -> Bool {
        guard entries[loop.target]?.loop?.id == loop.id else { return false }
        runningLoops += 1
        return true
    }

    private func startEntry(for target: HealthTarget, initial: HealthStatus?) -> Entry {
        var loop: ProbeLoop?
        if target.definition.type != .none {
            loop = ProbeLoop(id: nextLoopID, target: target)
            nextLoopID += 1
            loopStartSink.yield(loop!)
        }
        let definition = target.definition
        let health = HealthState(rise: definition.rise, fall: definition.fall, start: initial ?? definition.startState,
                                 since: Date())
        return Entry(subscribers: [], health: health, loop: loop)
    }

    /// Counts a result of the target's current loop; one from a loop since replaced
    /// (the target was removed and added again) is stale and ignored.
    private func record(_ result: ProbeResult, from loop: ProbeLoop) {
        guard var entry = entries[loop.target], entry.loop?.id == loop.id else { return }
        onResult?(loop.target, result)
        let transition = entry.health.record(result)
        entries[loop.target] = entry
        guard let transition else { return }
        transitionCounts[TransitionCounterKey(to: transition.to, reason: transition.reasonKind), default: 0] += 1
        let event = HealthEvent(target: loop.target, transition: transition, subscribers: entry.subscribers)
        logger.notice("\(event)", metadata: [
            "backend": "\(loop.target.hostPort)", "check": "\(loop.target.definition.type.rawValue)",
            "state": "\(transition.to)", "reason": "\(transition.reason)", "reason_kind": "\(transition.reasonKind)",
            "latency_ms": "\(transition.result.latency.milliseconds)",
            "subscribers": "\(entry.subscribers.sorted().joined(separator: ","))",
        ])
        if case .dropped = eventSink.yield(event) { droppedEvents += 1 }
    }

    private func loopEnded() {
        runningLoops -= 1
    }
}
