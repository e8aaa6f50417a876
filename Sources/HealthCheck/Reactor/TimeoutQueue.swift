import NIOCore

/// The timeouts of the checks with one timeout duration, in the order they started:
/// their deadlines only grow, so the queue is a FIFO rather than a heap, and a check
/// that ends leaves its entry to be dropped when it reaches the front.
final class TimeoutQueue {
    private struct Entry {
        let deadline: UInt64
        let probe: SocketProbe
        let run: UInt64
    }

    let duration: UInt64
    private var entries = CircularBuffer<Entry>()

    init(duration: UInt64) {
        self.duration = duration
    }

    /// Times out `run` of `probe`, started at `started`, unless it has ended by then.
    func add(_ probe: SocketProbe, run: UInt64, started: UInt64) {
        entries.append(Entry(deadline: started + duration, probe: probe, run: run))
    }

    func fireDue(now: UInt64) {
        while let front = entries.first, front.deadline <= now || front.probe.activeRun != front.run {
            entries.removeFirst()
            if front.probe.activeRun == front.run { front.probe.timedOut() }
        }
    }

    /// The earliest deadline of a check still running; ended ones at the front are dropped.
    func nextDeadline() -> UInt64? {
        while let front = entries.first {
            if front.probe.activeRun == front.run { return front.deadline }
            entries.removeFirst()
        }
        return nil
    }
}
