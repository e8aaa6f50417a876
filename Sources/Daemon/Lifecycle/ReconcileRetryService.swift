import ServiceLifecycle

/// Finishes a reconcile left unfinished by a failed map write (of an edit, saved and
/// answered 500, or of a health change): retried every `interval` until it succeeds, so
/// the maps converge without waiting for the next change.
struct ReconcileRetryService: Service {
    let coordinator: EditCoordinator
    var interval: Duration = .seconds(1)

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            await coordinator.retryReconcile()
        }
    }
}
