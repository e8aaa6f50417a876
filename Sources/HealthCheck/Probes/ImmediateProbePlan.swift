#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// A check already decided when it starts (a TLS context that cannot be built, type
/// `none`): nothing to cancel.
struct ImmediateProbePlan: ProbePlan {
    let outcome: Result<ProbeSuccess, ProbeFailure>

    private struct Done: InFlightProbe {
        func cancel() {}
    }

    func start(on loop: any EventLoop, completion: @escaping @Sendable (ProbeResult) -> Void) -> any InFlightProbe {
        completion(ProbeResult(outcome, latency: .zero, at: Date()))
        return Done()
    }
}
