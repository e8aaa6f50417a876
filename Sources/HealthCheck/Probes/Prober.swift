/// Runs one check against a target and reports what it saw. A prober never throws: a
/// failure is a result, with its reason; it returns by the target's timeout.
public protocol Prober: Sendable {
    func probe(_ target: HealthTarget) async -> ProbeResult
}
