import NIOConcurrencyHelpers

/// Where the check loops hand what the monitor must act on: transitions, and loops
/// that have ended. Posting is a locked append; the monitor is woken only when the
/// queue was empty, and then takes everything queued in one call.
final class MonitorInbox: Sendable {
    enum Message: Sendable {
        case transition(loopID: UInt64, target: HealthTarget, Transition)
        /// The target's checks began to fail for a reason of the LB host's own.
        case checkerError(target: HealthTarget, ProbeResult)
        case ended(loopID: UInt64)
    }

    let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let messages = NIOLockedValueBox<[Message]>([])

    init() {
        (wakeups, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    func post(_ message: Message) {
        let wasEmpty = messages.withLockedValue { messages in
            defer { messages.append(message) }
            return messages.isEmpty
        }
        if wasEmpty { wake.yield() }
    }

    func take() -> [Message] {
        messages.withLockedValue { messages in
            var taken: [Message] = []
            swap(&taken, &messages)
            return taken
        }
    }

    func close() {
        wake.finish()
    }
}
