import NIOCore

/// Runs a `SocketCheck` on the reactor, on a socket of its own. A check loop on the
/// reactor keeps one `SocketProbe`, and its socket, for all its checks instead
/// (`ProbeLoop`).
struct SocketProbePlan: ProbePlan {
    let reactor: ProbeReactor
    let check: SocketCheck

    func start(on loop: any EventLoop, completion: @escaping @Sendable (ProbeResult) -> Void) -> any InFlightProbe {
        if loop === reactor && reactor.inEventLoop {
            let probe = SocketProbe(reactor: reactor, check: check, reusable: false, completion: completion)
            probe.begin()
            return probe
        }
        let probe = SocketProbe(reactor: reactor, check: check, reusable: false) { result in
            loop.execute { completion(result) }
        }
        reactor.execute { probe.begin() }
        return probe
    }
}
