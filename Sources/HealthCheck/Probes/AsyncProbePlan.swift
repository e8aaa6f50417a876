import NIOCore

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
