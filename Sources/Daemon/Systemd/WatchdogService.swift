import Logging
import ServiceLifecycle

/// Sends `WATCHDOG=1` every `interval` while the daemon is responsive: each ping first
/// waits for `probe` (edits being served), so a wedged daemon stops petting the
/// watchdog and systemd restarts it; the restart is hitless (the datapath is pinned).
public struct WatchdogService: Service {
    let notifier: SystemdNotifier
    let interval: Duration
    let probe: @Sendable () async -> Void
    let logger: Logger

    public init(notifier: SystemdNotifier, interval: Duration, logger: Logger, probe: @escaping @Sendable () async -> Void) {
        self.notifier = notifier
        self.interval = interval
        self.logger = logger
        self.probe = probe
    }

    public func run() async throws {
        logger.info("watchdog enabled", metadata: ["ping_every": "\(interval)"])
        while !Task.isShuttingDownGracefully {
            await probe()
            do {
                try notifier.notify(["WATCHDOG=1"])
            } catch {
                logger.warning("watchdog notification failed", metadata: ["error": "\(error)"])
            }
            // Ends early, throwing, at shutdown; the loop condition then ends the service.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }
}
