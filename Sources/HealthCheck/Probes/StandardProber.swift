import NIOCore
import NIOPosix

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
