#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore

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
/// Each target's checker is a `ProbeLoop` on the process's `ProbeReactor`, the event
/// loop of the checks: they are scheduled there and record their results there, so a
/// check costs no task and no actor hop. Only transitions come to this actor, in batches.
/// `run()` owns every check: cancelling the task that runs it stops all checks and
/// closes their sockets; the daemon runs it as a service.
public actor HealthMonitor {
    /// Changes of state, in the order they happened. One consumer (the daemon); it
    /// finishes when `run()` returns.
    public nonisolated let events: AsyncStream<HealthEvent>
    private let eventSink: AsyncStream<HealthEvent>.Continuation

    private let prober: any Prober
    private let reactor = ProbeReactor.shared
    private let context: ProbeLoopContext
    private let logger: Logger

    private var entries: [HealthTarget: Entry] = [:]
    /// Loops started and not yet ended (a stopped loop ends once its check in flight is
    /// cancelled).
    private var live: [UInt64: ProbeLoop] = [:]
    private var nextLoopID: UInt64 = 0
    private var started = false
    /// `run()` is shutting down: no loop starts any more.
    private var finished = false

    /// Transitions since start by direction and reason.
    public private(set) var transitionCounts: [TransitionCounterKey: Int] = [:]
    /// Events dropped, oldest first, from a full buffer: a consumer this far behind
    /// should resynchronise from `statuses()`.
    public private(set) var droppedEvents = 0
    /// Check loops running now: one per subscribed target that has a probe.
    public var runningLoops: Int { live.count }

    private struct Entry {
        var subscribers: Set<String>
        let health: HealthCell
        /// `nil` for `none`, which is never probed.
        let loop: ProbeLoop?
    }

    /// - Parameters:
    ///   - maxConcurrentChecks: checks that open a socket in flight at once, beyond which
    ///     they wait (a check on its checker's kept socket opens none and never waits).
    ///   - eventBuffer: events kept for a slow consumer; beyond it the oldest are dropped,
    ///     so what it reads last is the latest state.
    ///   - onResult: called with every result (latency histograms), on the thread of the
    ///     checks; it must not block.
    public init(
        prober: any Prober = StandardProber(), maxConcurrentChecks: Int = 256, eventBuffer: Int = 10_000,
        logger: Logger = Logger(label: "lbd.healthcheck"),
        onResult: (@Sendable (HealthTarget, ProbeResult) -> Void)? = nil
    ) {
        self.prober = prober
        self.context = ProbeLoopContext(
            limiter: ProbeLimiter(limit: maxConcurrentChecks), inbox: MonitorInbox(), onResult: onResult)
        self.logger = logger
        (events, eventSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(eventBuffer))
    }

    /// Runs the checks until the calling task is cancelled. Call once; subscriptions
    /// made before it start checking when it starts. Nonisolated, with the signature of
    /// swift-service-lifecycle's `Service.run()`, so the daemon can run the monitor as a
    /// service directly; cancellation is its shutdown.
    public nonisolated func run() async {
        await markStarted()
        let inbox = context.inbox
        await withTaskCancellationHandler {
            for await _ in inbox.wakeups {
                await handle(inbox.take())
            }
        } onCancel: {
            inbox.close()
        }
        for stopped in await stopAll() {
            try? await stopped.get()
        }
        await handle(inbox.take())
        eventSink.finish()
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
        return TargetStatus(target: target, subscribers: entry.subscribers, health: entry.health.value)
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
        entries[target].map { TargetStatus(target: target, subscribers: $0.subscribers, health: $0.health.value) }
    }

    /// Every target, ordered by address, port and type.
    public func statuses() -> [TargetStatus] {
        entries.map { TargetStatus(target: $0.key, subscribers: $0.value.subscribers, health: $0.value.health.value) }
            .sorted { ($0.target.address, $0.target.port, $0.target.definition.type.rawValue)
                < ($1.target.address, $1.target.port, $1.target.definition.type.rawValue) }
    }

    /// The quorum verdict over the targets `subscriber` uses.
    public func serviceHealth(of subscriber: String, minUp: Int) -> ServiceHealth {
        ServiceHealth(
            statuses: entries.values.filter { $0.subscribers.contains(subscriber) }.map(\.health.value.status),
            minUp: minUp)
    }

    /// Starts the loops of the targets subscribed before `run()`.
    private func markStarted() {
        precondition(!started, "HealthMonitor.run() is called once")
        started = true
        for entry in entries.values {
            if let loop = entry.loop { launch(loop) }
        }
    }

    private func launch(_ loop: ProbeLoop) {
        live[loop.id] = loop
        loop.start()
    }

    /// Stops every loop still running; each future succeeds once its loop's check in
    /// flight is cancelled and its socket closed.
    private func stopAll() -> [EventLoopFuture<Void>] {
        finished = true
        return live.values.map { $0.stop() }
    }

    private func startEntry(for target: HealthTarget, initial: HealthStatus?) -> Entry {
        let definition = target.definition
        let health = HealthCell(HealthState(
            rise: definition.rise, fall: definition.fall, start: initial ?? definition.startState, since: Date()))
        var loop: ProbeLoop?
        if definition.type != .none {
            let plan = (prober as? any EventLoopProber)?.plan(for: target) ?? AsyncProbePlan(prober: prober, target: target)
            loop = ProbeLoop(id: nextLoopID, target: target, health: health, plan: plan, reactor: reactor,
                             context: context)
            nextLoopID += 1
            if started && !finished { launch(loop!) }
        }
        return Entry(subscribers: [], health: health, loop: loop)
    }

    /// What the loops posted since the last call, in order.
    private func handle(_ messages: [MonitorInbox.Message]) {
        var checkerErrors: [String: [HealthTarget]] = [:]
        for message in messages {
            switch message {
            case .transition(let loopID, let target, let transition):
                record(transition, of: target, from: loopID)
            case .checkerError(let target, let result):
                checkerErrors[result.reason, default: []].append(target)
            case .ended(let loopID):
                live[loopID] = nil
            }
        }
        for (reason, targets) in checkerErrors.sorted(by: { $0.key < $1.key }) {
            logCheckerError(reason, targets)
        }
    }

    /// One line per reason for the targets whose checks began to fail on this host's own
    /// error (a descriptor or port shortage hits thousands at once): loud, since checks
    /// are not running, but never a backend's fault.
    private func logCheckerError(_ reason: String, _ targets: [HealthTarget]) {
        let shown = targets.prefix(5).map(\.description).joined(separator: ", ")
        logger.error("health checks not run: the checker's own error, not counted against the backends", metadata: [
            "reason": "\(reason)", "targets": "\(targets.count)",
            "examples": "\(shown)\(targets.count > 5 ? ", ..." : "")",
        ])
    }

    /// Counts and publishes a transition of the target's current loop; one from a loop
    /// since replaced (the target was removed and added again) is stale and ignored.
    private func record(_ transition: Transition, of target: HealthTarget, from loopID: UInt64) {
        guard let entry = entries[target], entry.loop?.id == loopID else { return }
        transitionCounts[TransitionCounterKey(to: transition.to, reason: transition.reasonKind), default: 0] += 1
        let event = HealthEvent(target: target, transition: transition, subscribers: entry.subscribers)
        logger.notice("\(event)", metadata: [
            "backend": "\(target.hostPort)", "check": "\(target.definition.type.rawValue)",
            "state": "\(transition.to)", "reason": "\(transition.reason)", "reason_kind": "\(transition.reasonKind)",
            "latency_ms": "\(transition.result.latency.milliseconds)",
            "subscribers": "\(entry.subscribers.sorted().joined(separator: ","))",
        ])
        if case .dropped = eventSink.yield(event) { droppedEvents += 1 }
    }
}
