import Logging
import ServiceLifecycle

/// Tells systemd the daemon is ready (started last, once everything before it is up)
/// and, when graceful shutdown begins, that it is stopping.
struct SystemdLifecycleService: Service {
    let notifier: SystemdNotifier?
    let logger: Logger
    let status: String

    func run() async throws {
        send(["READY=1", "STATUS=\(status)"])
        logger.notice("lbd ready", metadata: ["status": "\(status)"])
        try? await gracefulShutdown()
        send(["STOPPING=1", "STATUS=stopping; the datapath keeps forwarding"])
        logger.notice("lbd stopping")
    }

    private func send(_ fields: [String]) {
        guard let notifier else { return }
        do {
            try notifier.notify(fields)
        } catch {
            logger.warning("sd_notify failed", metadata: ["socket": "\(notifier.socketPath)", "error": "\(error)"])
        }
    }
}
