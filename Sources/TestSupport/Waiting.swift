import Foundation

/// Polls `condition` every `interval` until it holds; throws `TimedOut`, naming what was
/// awaited, if it does not within `limit`. Tests and benchmarks wait on facts, never on a
/// sleep they hope is enough; the limit is loose, a bound on a failure, not a measure.
public func waitFor(
    _ what: @autoclosure () -> String, within limit: Duration = .seconds(10), every interval: Duration = .milliseconds(5),
    isolation: isolated (any Actor)? = #isolation, _ condition: () async throws -> Bool
) async throws {
    let deadline = Deadline(limit)
    while try await !condition() {
        try deadline.check(what)
        try await Task.sleep(for: interval)
    }
}

/// `waitFor` for code that does not run in a task (the benchmarks): the thread sleeps.
public func waitForBlocking(
    _ what: @autoclosure () -> String, within limit: Duration = .seconds(10), every interval: Duration = .milliseconds(5),
    _ condition: () throws -> Bool
) throws {
    let deadline = Deadline(limit)
    while try !condition() {
        try deadline.check(what)
        Thread.sleep(forTimeInterval: Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18)
    }
}

public struct TimedOut: Error, CustomStringConvertible {
    public let description: String
}

private struct Deadline {
    let limit: Duration
    let end: ContinuousClock.Instant

    init(_ limit: Duration) {
        self.limit = limit
        end = .now + limit
    }

    func check(_ what: () -> String) throws {
        guard ContinuousClock.now < end else { throw TimedOut(description: "\(what()) not within \(limit)") }
    }
}
