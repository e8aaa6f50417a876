import ServiceLifecycle

/// Finishes a reconcile left unfinished by a failed map write (the edit was saved and
/// answered 500): retried every `interval` until it succeeds, so the maps converge on
/// the saved state without waiting for the next edit.
struct ReconcileRetryService: Service {
    let coordinator: EditCoordinator
    var interval: Duration = .seconds(1)

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            if await coordinator.reconcilePending {
                await coordinator.retryReconcile()
            }
        }
    }
}
