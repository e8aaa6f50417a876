/// A check in flight, which stopping its target cancels.
protocol InFlightProbe: Sendable {
    func cancel()
}
