#if canImport(Glibc)
import Glibc
#endif
import CProbeSys
import Dispatch
import NIOConcurrencyHelpers
import NIOCore

/// The event loop of the tcp and http checks: one thread, one epoll set, a timer heap.
///
/// A check on it costs what the kernel needs (connect, send, recv, a reset) and little
/// else: no channel, no pipeline, no promise per step, and no second thread to wake.
/// While checks wait for their answers, socket events are collected in batches, at most
/// every `eventBatching` (2 ms), rather than with a wakeup per answer: on a VM a wakeup
/// costs about as much as a check's own system calls. It is a NIO `EventLoop`, so check loops, futures and
/// promises work on it as on any loop; https and `body_contains` checks, which need
/// NIO's TLS and HTTP handlers, run on NIO's own loops and report back here.
final class ProbeReactor: EventLoop, @unchecked Sendable {
    // @unchecked: the fields below `shared` are only touched on the reactor's thread;
    // `shared` is behind its lock; `epoll` and `wake` are fixed at init.

    /// The reactor of every monitor in the process, started on first use.
    static let shared = ProbeReactor(name: "lbd-health")

    private struct Shared {
        var tasks: [@Sendable () -> Void] = []
        /// In epoll_wait without a time limit or a task: a task must write `wake`.
        var sleeping = false
        var stopping = false
        var shutdownCallbacks: [(DispatchQueue, @Sendable ((any Error)?) -> Void)] = []
    }

    private let shared = NIOLockedValueBox(Shared())
    private let epoll: CInt
    private let wake: CInt
    private var thread = pthread_t()

    private var timers = TimerHeap()
    /// Sockets kept by check loops between their checks, and how many may be: half the
    /// open-files limit, so the rest of the process is never starved of descriptors.
    private(set) var keptSockets = 0
    private let keptSocketLimit: Int
    /// Socket checks in flight, and those of them still connecting (`SocketProbe`
    /// counts them).
    var checksInFlight = 0
    var checksConnecting = 0
    /// When epoll_wait last returned.
    private var lastPoll: UInt64 = 0
    /// While checks are waiting for their answers (and none is connecting), socket
    /// events are collected at most this often: a wakeup per answer would cost more
    /// than the answer. Timers are not delayed; a connect's completion is not either,
    /// so requests go out at once; and an answer's latency is its arrival time from the
    /// kernel, so an answer read up to this late is neither timed out nor measured
    /// wrong by it.
    static let eventBatching: UInt64 = 2_000_000
    private var nextStamp: UInt64 = 0
    /// The checks' timeouts, one queue per duration: deadlines in a queue only grow.
    private var timeoutQueues: [UInt64: TimeoutQueue] = [:]
    /// Registered sockets by slot; a token is (generation << 32 | slot).
    private var sockets: [ReactorSocket?] = []
    private var generations: [UInt32] = []
    private var freeSlots: [Int] = []
    private static let wakeToken = UInt64.max
    private static let eventCapacity = 512
    private let events: UnsafeMutableRawPointer
    /// Where sockets read into: one buffer for all, as each check reads and is done.
    let readBuffer: UnsafeMutableRawBufferPointer

    init(name: String) {
        // A check loop keeps a socket: thousands of targets need more than the 1024
        // descriptors systemd's soft limit allows (its hard limit is far higher).
        keptSocketLimit = Int(clamping: probe_sys_raise_open_files_limit() / 2)
        epoll = probe_sys_epoll_create()
        wake = probe_sys_eventfd()
        precondition(epoll >= 0 && wake >= 0, "cannot create the health checks' epoll set: errno \(errno)")
        precondition(probe_sys_epoll_add_input(epoll, wake, Self.wakeToken) == 0, "epoll_ctl: errno \(errno)")
        events = .allocate(byteCount: probe_sys_event_size() * Self.eventCapacity, alignment: 16)
        readBuffer = .allocate(byteCount: 4096, alignment: 16)
        start(name: name)
    }

    private func start(name: String) {
        let started = ConditionLock(value: false)
        let box = Unmanaged.passRetained(ThreadStart(reactor: self, name: name, started: started))
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        let result = pthread_create(&thread, &attributes, { argument in
            let start = Unmanaged<ThreadStart>.fromOpaque(argument!).takeRetainedValue()
            start.name.withCString { probe_sys_set_thread_name($0) }
            start.reactor.run(started: start.started)
            return nil
        }, box.toOpaque())
        precondition(result == 0, "cannot start the health checks' thread: \(result)")
        // `thread` is written before any task can ask `inEventLoop`.
        started.lock(whenValue: true)
        started.unlock()
    }

    private final class ThreadStart {
        let reactor: ProbeReactor
        let name: String
        let started: ConditionLock<Bool>

        init(reactor: ProbeReactor, name: String, started: ConditionLock<Bool>) {
            self.reactor = reactor
            self.name = name
            self.started = started
        }
    }

    // MARK: The loop

    private func run(started: ConditionLock<Bool>) {
        started.lock()
        started.unlock(withValue: true)
        while true {
            var now = NIODeadline.now().uptimeNanoseconds
            runDueTimers(now: now)
            let (tasks, stopping) = shared.withLockedValue { shared in
                var tasks: [@Sendable () -> Void] = []
                swap(&tasks, &shared.tasks)
                return (tasks, shared.stopping)
            }
            for task in tasks { task() }
            if stopping && tasks.isEmpty { break }

            now = tasks.isEmpty ? now : NIODeadline.now().uptimeNanoseconds
            if checksInFlight > 0 && checksConnecting == 0 && lastPoll + Self.eventBatching > now {
                let until = min(lastPoll + Self.eventBatching, nextDeadline() ?? .max)
                if until > now {
                    var nap = timespec(tv_sec: 0, tv_nsec: Int(until - now))
                    nanosleep(&nap, nil)
                    continue
                }
            }
            let timeout: Int64 = shared.withLockedValue { shared in
                guard shared.tasks.isEmpty else { return 0 }
                guard let due = nextDeadline() else {
                    shared.sleeping = true
                    return -1
                }
                shared.sleeping = true
                return due > now ? Int64(due - now) : 0
            }
            let count = probe_sys_epoll_wait(epoll, events.assumingMemoryBound(to: epoll_event.self),
                                             CInt(Self.eventCapacity), timeout)
            shared.withLockedValue { $0.sleeping = false }
            lastPoll = NIODeadline.now().uptimeNanoseconds
            guard count > 0 else { continue }
            let list = UnsafePointer(events.assumingMemoryBound(to: epoll_event.self))
            for index in 0..<Int(count) {
                let token = probe_sys_event_token(list, CInt(index))
                if token == Self.wakeToken {
                    var value: UInt64 = 0
                    _ = read(wake, &value, 8)
                    continue
                }
                let slot = Int(truncatingIfNeeded: token & 0xFFFF_FFFF)
                guard slot < sockets.count, generations[slot] == UInt32(truncatingIfNeeded: token >> 32),
                      let socket = sockets[slot] else { continue }
                socket.ready(probe_sys_event_flags(list, CInt(index)))
            }
        }
        Glibc.close(epoll)
        Glibc.close(wake)
        let callbacks = shared.withLockedValue { $0.shutdownCallbacks }
        for (queue, callback) in callbacks { queue.async { callback(nil) } }
    }

    private func runDueTimers(now: UInt64) {
        while let timer = timers.popDue(now: now) {
            timer.fire()
        }
        for queue in timeoutQueues.values {
            queue.fireDue(now: now)
        }
    }

    /// The earliest deadline of an armed timer or a pending timeout.
    private func nextDeadline() -> UInt64? {
        var next = timers.nextDeadline()
        for queue in timeoutQueues.values {
            if let due = queue.nextDeadline(), due < next ?? .max { next = due }
        }
        return next
    }

    // MARK: Timers and sockets, on the reactor's thread

    /// Arms `timer` for `deadline` (uptime nanoseconds), replacing any time it had.
    func arm(_ timer: ReactorTimer, at deadline: UInt64) {
        nextStamp += 1
        timer.stamp = nextStamp
        timers.push(timer, at: deadline, stamp: nextStamp)
    }

    /// Counts a socket a check loop keeps between checks; false when the budget is
    /// spent (the loop then closes its socket after each check).
    func keepSocket() -> Bool {
        guard keptSockets < keptSocketLimit else { return false }
        keptSockets += 1
        return true
    }

    func releaseKeptSocket() {
        keptSockets -= 1
    }

    /// The queue of the timeouts of `nanoseconds`.
    func timeoutQueue(_ nanoseconds: UInt64) -> TimeoutQueue {
        assert(inEventLoop, "timeout queues are the reactor thread's")
        if let queue = timeoutQueues[nanoseconds] { return queue }
        let queue = TimeoutQueue(duration: nanoseconds)
        timeoutQueues[nanoseconds] = queue
        return queue
    }

    /// Watches `fd`, edge-triggered, until `unregister`; false (errno set) if epoll refused it.
    func register(_ fd: CInt, _ socket: ReactorSocket) -> Int? {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            sockets[slot] = socket
        } else {
            slot = sockets.count
            sockets.append(socket)
            generations.append(0)
        }
        let token = UInt64(generations[slot]) << 32 | UInt64(slot)
        guard probe_sys_epoll_add(epoll, fd, token) == 0 else {
            sockets[slot] = nil
            freeSlots.append(slot)
            return nil
        }
        return slot
    }

    /// Forgets the socket of `slot`, whose descriptor is being closed (which removes it
    /// from the epoll set); an event already read for it is ignored.
    func unregister(_ slot: Int) {
        sockets[slot] = nil
        generations[slot] &+= 1
        freeSlots.append(slot)
    }

    // MARK: EventLoop

    var inEventLoop: Bool { pthread_equal(pthread_self(), thread) != 0 }

    func execute(_ task: @escaping @Sendable () -> Void) {
        let wakeUp = shared.withLockedValue { shared in
            shared.tasks.append(task)
            defer { shared.sleeping = false }
            return shared.sleeping
        }
        if wakeUp {
            var one: UInt64 = 1
            _ = write(wake, &one, 8)
        }
    }

    @discardableResult
    func scheduleTask<T>(deadline: NIODeadline, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        let promise = makePromise(of: T.self)
        let timer = TaskTimer {
            do {
                promise.assumeIsolated().succeed(try task())
            } catch {
                promise.fail(error)
            }
        }
        let arm: @Sendable () -> Void = { self.arm(timer, at: deadline.uptimeNanoseconds) }
        if inEventLoop { arm() } else { execute(arm) }
        return Scheduled(promise: promise) {
            let cancel: @Sendable () -> Void = {
                guard timer.isArmed else { return }
                timer.disarm()
                promise.fail(EventLoopError.cancelled)
            }
            if self.inEventLoop { cancel() } else { self.execute(cancel) }
        }
    }

    @discardableResult
    func scheduleTask<T>(in delay: TimeAmount, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        scheduleTask(deadline: .now() + delay, task)
    }

    func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
        shared.withLockedValue { shared in
            shared.stopping = true
            shared.shutdownCallbacks.append((queue, callback))
        }
        execute {}
    }

    /// A scheduled task's timer.
    private final class TaskTimer: ReactorTimer, @unchecked Sendable {
        private let task: () -> Void

        init(_ task: @escaping () -> Void) {
            self.task = task
        }

        override func fire() { task() }
    }
}
