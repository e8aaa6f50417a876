import Dispatch
import Foundation
import TestSupport

/// Tears down the topologies that are up when the test run is interrupted (Ctrl-C,
/// SIGTERM): XCTest runs no teardown block then, and the namespaces, servers and pins
/// would outlive the run.
final class InterruptTeardown: @unchecked Sendable {
    static let shared = InterruptTeardown()

    private let lock = NSLock()
    private var names: Set<String> = []
    private var sources: [DispatchSourceSignal] = []

    func track(_ name: String) {
        lock.withLock {
            if sources.isEmpty { sources = [SIGINT, SIGTERM].map(Self.handle) }
            names.insert(name)
        }
    }

    func untrack(_ name: String) {
        _ = lock.withLock { names.remove(name) }
    }

    private static func handle(_ signalNumber: Int32) -> DispatchSourceSignal {
        // Ignored as a signal so that it arrives as an event instead of ending the process.
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler {
            for name in shared.lock.withLock({ shared.names }) {
                _ = try? runProcess(Topology.script, ["down", name])
            }
            exit(128 + signalNumber)
        }
        source.resume()
        return source
    }
}
