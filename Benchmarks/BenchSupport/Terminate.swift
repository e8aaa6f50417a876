import Foundation
import TestSupport

/// Sends SIGTERM to `pid` and waits until `gone` (by default: no such process) or for
/// `limit`; SIGKILL then.
public func terminate(_ pid: pid_t, within limit: Duration, gone: () -> Bool) {
    guard kill(pid, SIGTERM) == 0 else { return }
    if (try? waitForBlocking("\(pid) exiting", within: limit, every: .milliseconds(20), gone)) == nil {
        kill(pid, SIGKILL)
    }
}

public func terminate(_ pid: pid_t, within limit: Duration) {
    terminate(pid, within: limit) { kill(pid, 0) != 0 }
}
