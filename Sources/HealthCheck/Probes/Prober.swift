#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import NIOPosix

/// Runs one check against a target and reports what it saw. A prober never throws: a
/// failure is a result, with its reason; it returns by the target's timeout.
public protocol Prober: Sendable {
    func probe(_ target: HealthTarget) async -> ProbeResult
}

/// A check in flight, which stopping its target cancels.
protocol InFlightProbe: Sendable {
    func cancel()
}

/// One target's check, prepared once (request bytes, TLS context) and started on the
/// target's event loop for each check, without a task or an actor hop.
protocol ProbePlan: Sendable {
    /// Starts a check; `completion` is called exactly once, on `loop`, possibly before
    /// this returns.
    func start(on loop: any EventLoop, completion: @escaping @Sendable (ProbeResult) -> Void) -> any InFlightProbe
}

/// A prober that prepares each target's check once: the monitor starts the checks
/// through the plan, on the `ProbeReactor`, without a task per check.
protocol EventLoopProber: Prober {
    func plan(for target: HealthTarget) -> any ProbePlan
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

/// The plan of a prober that only has the async `probe` (a test's scripted prober):
/// each check is a task, whose result is handed back on the loop.
struct AsyncProbePlan: ProbePlan {
    let prober: any Prober
    let target: HealthTarget

    func start(on loop: any EventLoop, completion: @escaping @Sendable (ProbeResult) -> Void) -> any InFlightProbe {
        let (prober, target) = (prober, target)
        return Task {
            let result = await prober.probe(target)
            loop.execute { completion(result) }
        }
    }
}

extension Task: InFlightProbe where Success == Void, Failure == Never {}

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

/// The prober for every check type: TCP for `tcp`, HTTP for `http` and `https`.
///
/// One instance per monitor: its TLS contexts are shared by all checks instead of being
/// set up per check. Its tcp and http checks run on the process's `ProbeReactor`;
/// `group` runs the channels of https and `body_contains` checks.
public struct StandardProber: Prober, EventLoopProber {
    private let tcp: TCPProber
    private let http: HTTPProber

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        tcp = TCPProber()
        http = HTTPProber(group: group)
    }

    public func probe(_ target: HealthTarget) async -> ProbeResult {
        await plan(for: target).run(on: ProbeReactor.shared)
    }

    func plan(for target: HealthTarget) -> any ProbePlan {
        switch target.definition.type {
        case .tcp: tcp.plan(for: target)
        case .http, .https: http.plan(for: target)
        case .none: ImmediateProbePlan(outcome: .success(.notChecked))
        }
    }
}

/// Success when the TCP handshake completes within the timeout; the connection is then
/// reset without sending anything. Runs on the process's `ProbeReactor`.
public struct TCPProber: Prober, EventLoopProber {
    public init() {}

    public func probe(_ target: HealthTarget) async -> ProbeResult {
        await plan(for: target).run(on: ProbeReactor.shared)
    }

    func plan(for target: HealthTarget) -> any ProbePlan {
        SocketProbePlan(
            reactor: .shared,
            check: SocketCheck(address: target.socketAddress, timeout: target.definition.timeout, request: nil))
    }
}
