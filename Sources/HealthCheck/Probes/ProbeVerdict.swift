import NIOCore

/// The verdict of one probe connection and the phase it has reached, both confined to
/// the connection's event loop.
///
/// Whoever decides first wins (the handler, the deadline, a connect error, the channel
/// closing, cancellation): later attempts to complete the promise are ignored, so
/// there is no race to lose and no double completion.
struct ProbeVerdict: Sendable {
    let promise: EventLoopPromise<ProbeSuccess>
    let phase: NIOLoopBoundBox<ProbePhase>

    func succeed(_ success: ProbeSuccess) { promise.succeed(success) }
    func fail(_ failure: ProbeFailure) { promise.fail(failure) }
}

extension ProbeVerdict: InFlightProbe {
    /// Stops the check: the socket is closed and the result is `cancelled`.
    func cancel() { fail(.cancelled) }
}
