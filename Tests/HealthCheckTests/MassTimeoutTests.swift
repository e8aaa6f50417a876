import Foundation
import Glibc
@testable import HealthCheck
import TestSupport
import XCTest

/// Checks keep their schedule when hundreds of targets black-hole (issue #18, item 10):
/// 600 targets whose SYNs are dropped run every check to its timeout, more than the
/// 256 checks the monitor lets hold a socket-opening permit could carry; three healthy
/// targets are checked on their schedule all the same, and so are the silent ones.
final class MassTimeoutTests: XCTestCase {
    func testHealthyChecksKeepTheirScheduleWhileHundredsTimeOut() async throws {
        _ = ProbeReactor.shared  // raises the open-files limit before the holes take 1,200
        let holes = try (0..<600).map { _ in try BlackHole() }
        try await withServer { server in
            let tally = ResultTally()
            let running = RunningMonitor(HealthMonitor { target, result in tally.add(target, result) })
            let silent = try HealthCheckDefinition(type: .tcp, interval: .seconds(1), timeout: .milliseconds(900))
            for hole in holes {
                let target = try HealthTarget(address: "127.0.0.1", servicePort: UInt16(hole.port), definition: silent)
                await running.monitor.subscribe(target, subscriber: "silent")
            }
            // Three checkers of one server: distinct definitions (rise) make distinct targets.
            let healthy = try (1...3).map { rise in
                try HealthTarget(address: "127.0.0.1", servicePort: UInt16(server.port), definition: .init(
                    type: .tcp, interval: .milliseconds(200), timeout: .milliseconds(150), rise: rise, jitter: 0))
            }
            for target in healthy { await running.monitor.subscribe(target, subscriber: "healthy") }

            // The first round opens every socket (through the permits); then count.
            try await waitFor("every silent target to time out once", within: .seconds(30)) {
                tally.silentTargetsSeen() == holes.count
            }
            let before = tally.counts()
            try await Task.sleep(for: .seconds(4))
            let after = tally.counts()
            await running.stop()

            let healthyChecks = zip(after.healthy, before.healthy).map { $0 - $1 }
            let silentChecks = after.silent - before.silent
            print("in 4 s: healthy targets checked \(healthyChecks) times (schedule: 20 each), "
                  + "silent ones \(silentChecks) times (schedule: 2400)")
            // Loose: two thirds of the schedule on a loaded machine. Before the fix the
            // 256 permits, held for 900 ms by silent checks, allowed ~280 checks a second.
            XCTAssertTrue(healthyChecks.allSatisfy { $0 >= 13 }, "healthy checks: \(healthyChecks)")
            XCTAssertGreaterThanOrEqual(silentChecks, 1600)
            XCTAssertEqual(after.healthyFailures, 0, "a healthy target's check failed")
        }
        withExtendedLifetime(holes) {}
    }
}

/// A port on 127.0.0.1 whose SYNs the kernel drops: a listener with a backlog of 0 and
/// one connection completed and never accepted, so its accept queue is full.
private final class BlackHole {
    let port: Int
    private let listener: CInt
    private let filler: CInt

    init() throws {
        let (listener, port) = try boundLoopbackSocket()
        let filler = socket(AF_INET, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        var address = loopbackAddress(port: port)
        let filled = listen(listener, 0) == 0 && withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(filler, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard filled else {
            let code = errno
            close(listener)
            close(filler)
            throw SocketError(code)
        }
        self.listener = listener
        self.filler = filler
        self.port = port
    }

    deinit {
        close(filler)
        close(listener)
    }
}

/// Results by target, recorded on the checks' thread.
private final class ResultTally: @unchecked Sendable {
    private let lock = NSLock()
    private var healthy: [HealthTarget: (checks: Int, failures: Int)] = [:]
    private var silent: [Int: Int] = [:]

    func add(_ target: HealthTarget, _ result: ProbeResult) {
        lock.withLock {
            if target.definition.interval == .seconds(1) {
                silent[Int(target.port), default: 0] += 1
            } else {
                healthy[target, default: (0, 0)].checks += 1
                if !result.isSuccess { healthy[target, default: (0, 0)].failures += 1 }
            }
        }
    }

    func silentTargetsSeen() -> Int { lock.withLock { silent.count } }

    /// Checks per healthy target (by rise), silent checks in all, healthy failures.
    func counts() -> (healthy: [Int], silent: Int, healthyFailures: Int) {
        lock.withLock {
            let ordered = healthy.sorted { $0.key.definition.rise < $1.key.definition.rise }
            return (ordered.map(\.value.checks), silent.values.reduce(0, +), ordered.map(\.value.failures).reduce(0, +))
        }
    }
}
