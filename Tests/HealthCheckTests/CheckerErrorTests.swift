import Foundation
import Glibc
@testable import HealthCheck
import TestSupport
import XCTest

/// The checker's own failures are not the backend's (issue #18, item 8): with every
/// descriptor of the process in use, a check cannot open its socket (EMFILE); the
/// backend stays up, the failure is shown as the checker's, and checks resume when
/// descriptors are free again.
final class CheckerErrorTests: XCTestCase {
    func testRunningOutOfDescriptorsNeverTakesABackendDown() async throws {
        try await withServer { server in
            let results = ResultsSeen()
            let running = RunningMonitor(HealthMonitor { _, result in results.add(result) })
            // fall 1: a single failure counted against the backend would take it down.
            let target = try HealthTarget(
                address: "127.0.0.1", servicePort: UInt16(server.port),
                definition: .init(type: .tcp, interval: .milliseconds(50), timeout: .milliseconds(40), rise: 1, fall: 1,
                                  jitter: 0, startState: .up))
            // libdispatch creates its timers and worker threads lazily, and traps when it
            // cannot: have them exist before the process runs out of descriptors.
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<8 { group.addTask { try? await Task.sleep(for: .milliseconds(20)) } }
            }
            try await Task.sleep(until: .now + .milliseconds(5), clock: .suspending)
            let exhausted = try DescriptorExhaustion()
            // Subscribed now, the target's loop has no socket yet: each check must open one.
            await running.monitor.subscribe(target, subscriber: "vip-a")
            var waitError: (any Error)?
            do {
                try await waitFor("3 checks refused a descriptor", within: .seconds(10)) {
                    results.count(where: { $0.failure?.isLocal == true }) >= 3
                }
            } catch {
                waitError = error
            }
            exhausted.release()
            try await waitFor("a check to pass once descriptors are free", within: .seconds(10)) {
                results.count(where: \.isSuccess) >= 1
            }
            await running.stop()
            if let waitError { throw waitError }

            let local = try XCTUnwrap(results.all.first { $0.failure != nil })
            XCTAssertEqual(local.failure?.kind, .local)
            XCTAssertEqual(local.reason, "not checked: the checker's own error: too many open files")
            XCTAssertTrue(results.all.allSatisfy { $0.isSuccess || $0.failure?.isLocal == true }, "\(results.all)")
            let events = await running.recorder.events
            XCTAssertEqual(events.map(\.transition.description), [], "the checker's errors changed the backend's state")
            let status = try await XCTUnwrapAsync(await running.monitor.status(of: target))
            XCTAssertEqual(status.status, .up)
            XCTAssertEqual(status.health.failures, 0)
            XCTAssertGreaterThanOrEqual(status.health.checkerErrors, 3)
        }
    }

    /// Which errors are the host's and which the backend's, by errno.
    func testLocalErrnosAreTheCheckersAndRemoteOnesTheBackends() {
        let local = [EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL, EADDRINUSE, EPERM, EACCES]
        let remote = [ECONNREFUSED, ECONNRESET, EHOSTUNREACH, ENETUNREACH, ETIMEDOUT]
        XCTAssertEqual(local.map { ProbeFailure(errno: $0, during: .connecting).kind }, Array(repeating: .local, count: local.count))
        XCTAssertEqual(remote.map { ProbeFailure(errno: $0, during: .connecting).kind }, [.refused, .reset, .unreachable, .unreachable,
                                                                           .error])
        XCTAssertFalse(ProbeFailure.Kind.countedAgainstBackends.contains(.local))
    }
}

/// Every descriptor number the process may use, taken: the soft RLIMIT_NOFILE lowered to
/// just above the highest descriptor open, and the numbers below it filled with
/// /dev/null. `release()` gives them back and restores the limit.
final class DescriptorExhaustion: @unchecked Sendable {
    private var saved = rlimit()
    private var held: [CInt] = []

    init() throws {
        getrlimit(RLIMIT_NOFILE_CASE, &saved)
        let highest = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap { Int($0) }.max() ?? 0
        var lowered = saved
        lowered.rlim_cur = rlim_t(highest + 16)
        guard setrlimit(RLIMIT_NOFILE_CASE, &lowered) == 0 else { throw SocketError(errno) }
        while true {
            let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                guard errno == EMFILE else { release(); throw SocketError(errno) }
                break
            }
            held.append(fd)
        }
    }

    func release() {
        for fd in held { close(fd) }
        held = []
        setrlimit(RLIMIT_NOFILE_CASE, &saved)
    }

    deinit { release() }
}

private let RLIMIT_NOFILE_CASE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)

/// Every result, in order, recorded on the checks' thread.
final class ResultsSeen: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [ProbeResult] = []

    func add(_ result: ProbeResult) { lock.withLock { results.append(result) } }
    var all: [ProbeResult] { lock.withLock { results } }
    func count(where predicate: (ProbeResult) -> Bool) -> Int { lock.withLock { results.filter(predicate).count } }
}
