#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The outcome of one check, when it ended and how long it took.
///
/// `latency` is raw, per result, so the metrics layer can record it in a histogram.
public struct ProbeResult: Sendable, Hashable, CustomStringConvertible {
    public let outcome: Result<ProbeSuccess, ProbeFailure>
    /// From the start of the check to its verdict (a timeout's latency is the timeout).
    public let latency: Duration
    /// When the verdict was reached.
    public let at: Date

    public init(_ outcome: Result<ProbeSuccess, ProbeFailure>, latency: Duration, at: Date) {
        self.outcome = outcome
        self.latency = latency
        self.at = at
    }

    public var isSuccess: Bool { failure == nil }

    public var failure: ProbeFailure? {
        if case .failure(let failure) = outcome { return failure }
        return nil
    }

    /// What the check saw, in words: "status 200", "connection refused".
    public var reason: String {
        switch outcome {
        case .success(let success): success.description
        case .failure(let failure): failure.description
        }
    }

    var latencyText: String { "\(latencyFormatted) ms" }

    /// The latency in milliseconds, with fractions.
    public var latencyMilliseconds: Double { latency.milliseconds }

    private var latencyFormatted: String {
        let tenths = (latency.milliseconds * 10).rounded()
        return tenths.truncatingRemainder(dividingBy: 10) == 0 ? "\(Int(tenths / 10))" : "\(tenths / 10)"
    }

    public var description: String { "\(reason) in \(latencyText)" }
}
