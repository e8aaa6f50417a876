/// Something due at a time on the reactor's thread: a check loop's next start, a
/// scheduled task.
///
/// Arming again replaces the previous time. Disarming only marks the heap entry stale:
/// it is dropped when it reaches the top of the heap, without a wakeup.
class ReactorTimer {
    /// The stamp of the heap entry that fires this timer; 0 when disarmed. Set only by
    /// `ProbeReactor.arm` and `TimerHeap`, on the reactor's thread.
    var stamp: UInt64 = 0

    var isArmed: Bool { stamp != 0 }

    func fire() {}

    /// Disarms the timer (on the reactor's thread).
    final func disarm() {
        stamp = 0
    }
}
