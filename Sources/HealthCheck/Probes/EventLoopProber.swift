/// A prober that prepares each target's check once: the monitor starts the checks
/// through the plan, on the `ProbeReactor`, without a task per check.
protocol EventLoopProber: Prober {
    func plan(for target: HealthTarget) -> any ProbePlan
}
