/// A counting semaphore for checks in flight, so a configuration with thousands of
/// targets (or a network stall that makes every check run to its timeout) cannot open
/// thousands of sockets at once. Waiters are served first come, first served, and a
/// cancelled waiter leaves the queue without taking a permit.
actor ProbeLimiter {
    private var available: Int
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextWaiter: UInt64 = 0

    init(limit: Int) {
        precondition(limit >= 1, "at least one check must be allowed in flight")
        available = limit
    }

    /// Runs `body` holding a permit; `nil` when cancelled before one was granted.
    nonisolated func withPermit<T: Sendable>(_ body: () async -> T) async -> T? {
        do {
            try await acquire()
        } catch {
            return nil
        }
        let value = await body()
        await release()
        return value
    }

    private func acquire() async throws {
        if available > 0 {
            available -= 1
            return
        }
        let id = nextWaiter
        nextWaiter += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiters.append((id, continuation))
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    /// Hands the permit to the oldest waiter, if any.
    private func release() {
        if waiters.isEmpty {
            available += 1
        } else {
            waiters.removeFirst().continuation.resume()
        }
    }

    private func cancelWaiter(_ id: UInt64) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(throwing: CancellationError())
    }

    /// Permits not in use, for tests and status.
    var idlePermits: Int { available }
}
