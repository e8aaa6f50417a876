import NIOCore

/// The checks of one target, run on the `ProbeReactor` until stopped.
///
/// Every step is a call on the reactor's thread: the loop is itself the timer of its
/// next check, the check's completion records the result in the target's `HealthCell`,
/// and only a transition leaves the loop (to the monitor's inbox). No task, no actor
/// hop, no promise per check; a tcp or http check reuses the loop's `SocketProbe`, so
/// a check allocates nothing.
///
/// Checks start on a fixed cadence (start to start), so the number of checks over a
/// span is the span over the interval whatever each one's latency; one delayed by the
/// limiter does not cause a burst of catching up. Each start is rounded up to the
/// schedule's grid; the cadence runs on the unrounded times, so rounding never drifts.
///
/// Stopping is prompt: the check in flight is cancelled, which closes its socket,
/// rather than left to finish after its target is gone.
final class ProbeLoop: ReactorTimer, @unchecked Sendable {
    // @unchecked: the mutable state is only touched on the reactor's thread.
    let id: UInt64
    let target: HealthTarget
    let health: HealthCell
    let reactor: ProbeReactor
    private let plan: any ProbePlan
    private let context: ProbeLoopContext
    private let schedule: ProbeSchedule

    private enum State {
        case created
        /// Until the next check's start (the timer is armed).
        case waiting
        /// Queued for a permit under `ticket`.
        case queued
        /// The check is being started (it may complete before that returns).
        case starting
        case checking
        case stopped
    }

    private var state = State.created
    private var ticket: UInt64 = 0
    /// The check in flight holds one of the limiter's permits.
    private var holdsPermit = false
    /// The tcp or http check, reused for every run; `nil` for other plans.
    private var socketProbe: SocketProbe?
    /// The check in flight of other plans.
    private var inFlight: (any InFlightProbe)?
    /// When the current check was due, in uptime nanoseconds (the cadence's reference,
    /// not when it started).
    private var next: UInt64 = 0
    private var random = ScheduleRandom()

    init(id: UInt64, target: HealthTarget, health: HealthCell, plan: any ProbePlan, reactor: ProbeReactor,
         context: ProbeLoopContext) {
        self.id = id
        self.target = target
        self.health = health
        self.plan = plan
        self.reactor = reactor
        self.context = context
        self.schedule = ProbeSchedule(interval: target.definition.interval, jitter: target.definition.jitter)
        super.init()
        if let socketPlan = plan as? SocketProbePlan, socketPlan.reactor === reactor {
            socketProbe = SocketProbe(reactor: reactor, check: socketPlan.check, reusable: true) { [unowned self] result in
                self.finished(result)
            }
        }
    }

    /// Schedules the first check, within `jitter × interval` from now.
    func start() {
        reactor.execute {
            guard case .created = self.state else { return }
            self.next = NIODeadline.now().uptimeNanoseconds + self.schedule.firstDelayNanoseconds(using: &self.random)
            self.arm()
        }
    }

    /// Stops the checks; the check in flight is cancelled (its socket closed) before
    /// the returned future succeeds, and `ended` is posted to the inbox then, once.
    @discardableResult
    func stop() -> EventLoopFuture<Void> {
        reactor.submit {
            let was = self.state
            if case .stopped = was { return }
            self.state = .stopped
            switch was {
            case .waiting: self.disarm()
            case .queued: self.context.limiter.cancel(self.ticket)
            case .starting, .checking:
                self.socketProbe?.cancel()
                self.inFlight?.cancel()
                self.inFlight = nil
            case .created, .stopped: break
            }
            self.socketProbe?.release()
            self.context.inbox.post(.ended(loopID: self.id))
        }
    }

    private func arm() {
        state = .waiting
        reactor.arm(self, at: schedule.aligned(next))
    }

    /// The next check is due.
    ///
    /// A check on the socket the loop keeps opens no descriptor, and the limiter bounds
    /// descriptors: it starts at once. So checks that hang until their timeouts (a
    /// black-holed subnet) cannot hold the permits that every other check waits for, and
    /// every loop keeps its schedule; only checks that open a socket queue.
    override func fire() {
        guard case .waiting = state else { return }
        if socketProbe?.holdsSocket == true { return check() }
        let reactor = reactor
        let acquired = context.limiter.acquire(orQueue: {
            { granted in reactor.execute { self.permitted(granted) } }
        })
        switch acquired {
        case .granted:
            holdsPermit = true
            check()
        case .queued(let ticket):
            state = .queued
            self.ticket = ticket
        }
    }

    private func permitted(_ granted: Bool) {
        guard granted else { return }
        guard case .queued = state else {
            // Stopped while queued, after the permit was handed over.
            context.limiter.release()
            return
        }
        holdsPermit = true
        check()
    }

    private func check() {
        state = .starting
        if let socketProbe {
            socketProbe.begin()
        } else {
            let started = plan.start(on: reactor) { result in self.finished(result) }
            if case .starting = state { inFlight = started }
        }
        if case .starting = state { state = .checking }
    }

    private func finished(_ result: ProbeResult) {
        if holdsPermit {
            holdsPermit = false
            context.limiter.release()
        }
        switch state {
        case .starting, .checking: break
        default: return  // stopped: a cancelled check's result is not one
        }
        inFlight = nil
        context.onResult?(target, result)
        let recorded = health.record(result)
        if let transition = recorded.transition {
            context.inbox.post(.transition(loopID: id, target: target, transition))
        } else if recorded.checkerErrorBegins {
            context.inbox.post(.checkerError(target: target, result))
        }
        next = max(next + schedule.nextDelayNanoseconds(using: &random), NIODeadline.now().uptimeNanoseconds)
        arm()
    }
}
