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
            check: SocketCheck(address: target.socketAddress, timeout: target.definition.timeout, request: nil,
                               tunnel: target.tunnel))
    }
}
