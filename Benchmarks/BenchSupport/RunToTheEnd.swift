import Foundation

/// Runs `body`, then `tearDown` whatever happens: exits 0 after a run, 1 after a failure
/// (the error on stderr, as `name: error`), 128 + the signal on SIGINT or SIGTERM.
/// `tearDown` must be safe to call twice (a signal may come while it runs).
public func runToTheEnd(_ name: String, tearDown: @escaping @Sendable () -> Void, _ body: () throws -> Void) -> Never {
    var signalSources: [DispatchSourceSignal] = []
    for number in [SIGINT, SIGTERM] {
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            tearDown()
            exit(128 + number)
        }
        source.resume()
        signalSources.append(source)
    }
    do {
        try body()
        tearDown()
        exit(0)
    } catch {
        tearDown()
        FileHandle.standardError.write(Data("\(name): \(error)\n".utf8))
        exit(1)
    }
}
