#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// One target's check, prepared once (request bytes, TLS context) and started on the
/// target's event loop for each check, without a task or an actor hop.
protocol ProbePlan: Sendable {
    /// Starts a check; `completion` is called exactly once, on `loop`, possibly before
    /// this returns.
    func start(on loop: any EventLoop, completion: @escaping @Sendable (ProbeResult) -> Void) -> any InFlightProbe
}

extension ProbePlan {
    /// One check from async code (`Prober.probe`): cancelling the task cancels it.
    func run(on loop: any EventLoop) async -> ProbeResult {
        let promise = loop.makePromise(of: ProbeResult.self)
        let check = start(on: loop) { promise.succeed($0) }
        return await withTaskCancellationHandler {
            (try? await promise.futureResult.get()) ?? ProbeResult(.failure(.cancelled), latency: .zero, at: Date())
        } onCancel: {
            check.cancel()
        }
    }
}
