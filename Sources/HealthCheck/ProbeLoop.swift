#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOConcurrencyHelpers
import NIOCore

/// A target's health, written by its check loop and read by the monitor (`status`,
/// `statuses`): a lock rather than an actor, so recording a result costs no hop.
final class HealthCell: Sendable {
    private let state: NIOLockedValueBox<HealthState>

    init(_ state: HealthState) {
        self.state = NIOLockedValueBox(state)
    }

    var value: HealthState { state.withLockedValue { $0 } }

    func record(_ result: ProbeResult) -> Transition? {
        state.withLockedValue { $0.record(result) }
    }
}

/// What the check loops of one monitor share: the in-flight limit, where transitions
/// go, and the per-result callback.
struct ProbeLoopContext: Sendable {
    let limiter: ProbeLimiter
    let inbox: MonitorInbox
    let onResult: (@Sendable (HealthTarget, ProbeResult) -> Void)?
}

/// The checks of one target, run on one event loop of the group until stopped.
///
/// Every step is a call on that event loop: a scheduled task starts each check, the
/// check's completion records the result in the target's `HealthCell`, and only a
/// transition leaves the loop (to the monitor's inbox). No task, no actor hop per check.
///
/// Checks start on a fixed cadence (start to start), so the number of checks over a
/// span is the span over the interval whatever each one's latency; one delayed by the
/// limiter does not cause a burst of catching up. Each start is rounded up to the
/// schedule's grid; the cadence runs on the unrounded times, so rounding never drifts.
///
/// Stopping is prompt: the check in flight is cancelled, which closes its socket,
/// rather than left to finish after its target is gone.
final class ProbeLoop: @unchecked Sendable {
    // @unchecked: `phase`, `next` and `random` are only touched on `eventLoop`.
    let id: UInt64
    let target: HealthTarget
    let health: HealthCell
    let eventLoop: any EventLoop
    private let plan: any ProbePlan
    private let context: ProbeLoopContext
    private let schedule: ProbeSchedule

    private enum Phase {
        case created
        /// Until the next check's start.
        case waiting(Scheduled<Void>)
        /// Queued for a permit under this ticket.
        case queued(UInt64)
        /// `plan.start` is running (it may complete the check before returning).
        case starting
        case checking(any InFlightProbe)
        case stopped
    }

    private var phase = Phase.created
    /// When the current check was due (the cadence's reference, not when it started).
    private var next = NIODeadline.uptimeNanoseconds(0)
    private var random = ScheduleRandom()

    init(id: UInt64, target: HealthTarget, health: HealthCell, plan: any ProbePlan, eventLoop: any EventLoop,
         context: ProbeLoopContext) {
        self.id = id
        self.target = target
        self.health = health
        self.plan = plan
        self.eventLoop = eventLoop
        self.context = context
        self.schedule = ProbeSchedule(interval: target.definition.interval, jitter: target.definition.jitter)
    }

    /// Schedules the first check, within `jitter × interval` from now.
    func start() {
        eventLoop.execute {
            guard case .created = self.phase else { return }
            self.next = .now() + TimeAmount(self.schedule.firstDelay(using: &self.random))
            self.arm()
        }
    }

    /// Stops the checks; the check in flight is cancelled (its socket closed) before
    /// the returned future succeeds, and `ended` is posted to the inbox then, once.
    @discardableResult
    func stop() -> EventLoopFuture<Void> {
        eventLoop.submit {
            let was = self.phase
            if case .stopped = was { return }
            self.phase = .stopped
            switch was {
            case .waiting(let timer): timer.cancel()
            case .queued(let ticket): self.context.limiter.cancel(ticket)
            case .checking(let check): check.cancel()
            case .created, .starting, .stopped: break
            }
            self.context.inbox.post(.ended(loopID: self.id))
        }
    }

    private func arm() {
        let timer = eventLoop.scheduleTask(deadline: schedule.aligned(next)) { self.due() }
        phase = .waiting(timer)
    }

    private func due() {
        guard case .waiting = phase else { return }
        let loop = eventLoop
        let acquired = context.limiter.acquire(orQueue: {
            { granted in loop.execute { self.permitted(granted) } }
        })
        switch acquired {
        case .granted: check()
        case .queued(let ticket): phase = .queued(ticket)
        }
    }

    private func permitted(_ granted: Bool) {
        guard granted else { return }
        guard case .queued = phase else {
            // Stopped while queued, after the permit was handed over.
            context.limiter.release()
            return
        }
        check()
    }

    private func check() {
        phase = .starting
        let started = plan.start(on: eventLoop) { result in self.finished(result) }
        if case .starting = phase { phase = .checking(started) }
    }

    private func finished(_ result: ProbeResult) {
        context.limiter.release()
        switch phase {
        case .starting, .checking: break
        default: return  // stopped: a cancelled check's result is not one
        }
        context.onResult?(target, result)
        if let transition = health.record(result) {
            context.inbox.post(.transition(loopID: id, target: target, transition))
        }
        next = max(next + TimeAmount(schedule.nextDelay(using: &random)), .now())
        arm()
    }
}

/// Where the check loops hand what the monitor must act on: transitions, and loops
/// that have ended. Posting is a locked append; the monitor is woken only when the
/// queue was empty, and then takes everything queued in one call.
final class MonitorInbox: Sendable {
    enum Message: Sendable {
        case transition(loopID: UInt64, target: HealthTarget, Transition)
        case ended(loopID: UInt64)
    }

    let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let messages = NIOLockedValueBox<[Message]>([])

    init() {
        (wakeups, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    func post(_ message: Message) {
        let wasEmpty = messages.withLockedValue { messages in
            defer { messages.append(message) }
            return messages.isEmpty
        }
        if wasEmpty { wake.yield() }
    }

    func take() -> [Message] {
        messages.withLockedValue { messages in
            var taken: [Message] = []
            swap(&taken, &messages)
            return taken
        }
    }

    func close() {
        wake.finish()
    }
}
