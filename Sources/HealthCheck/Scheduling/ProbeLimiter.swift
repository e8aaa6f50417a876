import NIOConcurrencyHelpers
import NIOCore

/// A counting semaphore for checks in flight that open a socket, so a configuration
/// with thousands of targets cannot open thousands of sockets at once. Checks on a
/// socket their loop keeps take no permit (`ProbeLoop.fire`): targets that hang until
/// their timeouts cannot hold every permit. Waiters are served first come, first served, and a
/// cancelled waiter leaves the queue without taking a permit.
///
/// A lock, not an actor: the check loops run on event loops and take a permit in a
/// plain call, without a hop to another executor per check.
final class ProbeLimiter: Sendable {
    /// Called once for a queued waiter: `true` with a permit (the waiter now owns it and
    /// must `release()` it), `false` when the waiter was cancelled first.
    typealias Resume = @Sendable (Bool) -> Void

    enum Acquisition {
        /// A permit was free and is now the caller's.
        case granted
        /// No permit was free: the waiter is queued under this ticket.
        case queued(UInt64)
    }

    private struct Waiter {
        let ticket: UInt64
        let resume: Resume
    }

    private struct State {
        var available: Int
        var waiters = CircularBuffer<Waiter>()
        var nextTicket: UInt64 = 0
    }

    private let state: NIOLockedValueBox<State>

    init(limit: Int) {
        precondition(limit >= 1, "at least one check must be allowed in flight")
        state = NIOLockedValueBox(State(available: limit))
    }

    /// Takes a permit if one is free; otherwise queues the waiter `makeResume` builds
    /// (built only then, so a free permit costs no allocation).
    func acquire(orQueue makeResume: () -> Resume) -> Acquisition {
        state.withLockedValue { state in
            if state.available > 0 && state.waiters.isEmpty {
                state.available -= 1
                return .granted
            }
            let ticket = state.nextTicket
            state.nextTicket += 1
            state.waiters.append(Waiter(ticket: ticket, resume: makeResume()))
            return .queued(ticket)
        }
    }

    /// Hands the permit to the oldest waiter, if any, else returns it to the pool.
    func release() {
        let next: Waiter? = state.withLockedValue { state in
            if let waiter = state.waiters.popFirst() { return waiter }
            state.available += 1
            return nil
        }
        next?.resume(true)
    }

    /// Removes a queued waiter, which is resumed with `false`; nothing happens when it
    /// was already granted its permit (its resume has then been called with `true`).
    func cancel(_ ticket: UInt64) {
        let cancelled: Waiter? = state.withLockedValue { state in
            guard let index = state.waiters.firstIndex(where: { $0.ticket == ticket }) else { return nil }
            return state.waiters.remove(at: index)
        }
        cancelled?.resume(false)
    }

    /// Runs `body` holding a permit; `nil` when cancelled before one was granted.
    func withPermit<T: Sendable>(_ body: () async -> T) async -> T? {
        guard await acquire() else { return nil }
        let value = await body()
        release()
        return value
    }

    private func acquire() async -> Bool {
        let ticket = NIOLockedValueBox<UInt64?>(nil)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                switch acquire(orQueue: { { continuation.resume(returning: $0) } }) {
                case .granted:
                    continuation.resume(returning: true)
                case .queued(let queued):
                    ticket.withLockedValue { $0 = queued }
                    // Cancelled before the ticket was known to the handler below.
                    if Task.isCancelled { cancel(queued) }
                }
            }
        } onCancel: {
            if let queued = ticket.withLockedValue({ $0 }) { cancel(queued) }
        }
    }

    /// Permits not in use, for tests and status.
    var idlePermits: Int { state.withLockedValue { $0.available } }
}
