@testable import HealthCheck
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import TestSupport
import XCTest

/// The checks' event loop and its raw-socket checks: timers in order, a check loop
/// keeping one socket while every check is a new connection, nothing left behind
/// (no TIME_WAIT, no descriptor), IPv6.
final class ReactorTests: XCTestCase {
    /// Scheduled tasks run in deadline order, a cancelled one never, and its future
    /// fails with `cancelled`.
    func testScheduledTasksRunInDeadlineOrderAndCancelledOnesNever() async throws {
        let reactor = ProbeReactor.shared
        let ran = NIOLockedValueBox<[Int]>([])
        let start = NIODeadline.now()
        var scheduled: [Scheduled<Void>] = []
        for (index, delay) in [40, 10, 30, 20, 10].enumerated() {
            scheduled.append(reactor.scheduleTask(deadline: start + .milliseconds(Int64(delay))) {
                ran.withLockedValue { $0.append(index) }
            })
        }
        scheduled[2].cancel()
        for (index, task) in scheduled.enumerated() where index != 2 {
            try await task.futureResult.get()
        }
        do {
            try await scheduled[2].futureResult.get()
            XCTFail("a cancelled task ran")
        } catch EventLoopError.cancelled {}
        // Equal deadlines keep the order they were scheduled in.
        XCTAssertEqual(ran.withLockedValue { $0 }, [1, 4, 3, 0])
        XCTAssertGreaterThanOrEqual(NIODeadline.now() - start, .milliseconds(40))
    }

    func testExecuteRunsOnTheReactorInOrder() async throws {
        let reactor = ProbeReactor.shared
        XCTAssertFalse(reactor.inEventLoop)
        let seen = NIOLockedValueBox<[Int]>([])
        for index in 0..<100 {
            reactor.execute {
                precondition(reactor.inEventLoop)
                seen.withLockedValue { $0.append(index) }
            }
        }
        try await reactor.submit {}.get()
        XCTAssertEqual(seen.withLockedValue { $0 }, Array(0..<100))
    }

    /// A check loop keeps one socket for all its checks, yet each check is a new
    /// connection from a new port, reset rather than closed: nothing in TIME_WAIT on
    /// either side, and the socket closed when the loop stops.
    func testALoopKeepsOneSocketAndEveryCheckIsANewConnection() async throws {
        try await withServer { server in
            let warmUp = try HealthTarget(address: "127.0.0.1", servicePort: UInt16(server.port),
                                          definition: .init(type: .http))
            _ = await StandardProber().probe(warmUp)
            try await waitFor("the warm-up connection to close") { try await server.seen.openConnections == 0 }
            let before = try openSockets()

            let running = RunningMonitor(HealthMonitor())
            let target = try HealthTarget(
                address: "127.0.0.1", servicePort: UInt16(server.port),
                definition: .init(type: .http, interval: .milliseconds(20), timeout: .milliseconds(15), jitter: 0))
            await running.monitor.subscribe(target, subscriber: "vip")
            try await waitFor("ten checks") { try await server.seen.requests >= 11 }
            let reactor = ProbeReactor.shared
            let kept = try await reactor.submit { reactor.keptSockets }.get()
            let ports = try await server.seen.clientPorts
            let status = await running.monitor.status(of: target)
            await running.monitor.unsubscribe(target, subscriber: "vip")
            try await waitFor("the loop to stop") { await running.monitor.runningLoops == 0 }
            let after = try openSockets()
            let keptAfter = try await reactor.submit { reactor.keptSockets }.get()
            await running.stop()

            print("sockets before \(before), after \(after); kept while checking \(kept); client ports \(ports)")
            XCTAssertEqual(status?.health.failures, 0)
            XCTAssertEqual(Set(ports).count, ports.count, "a connection was reused: \(ports)")
            XCTAssertEqual(kept, 1, "one kept socket")
            XCTAssertEqual(keptAfter, 0)
            XCTAssertEqual(after, before)
            XCTAssertEqual(try timeWaitSockets(port: server.port), 0)
        }
    }

    /// tcp checks reset their connections too.
    func testTCPChecksLeaveNoTimeWait() async throws {
        try await withServer { server in
            let prober = StandardProber()
            let target = try HealthTarget(address: "127.0.0.1", servicePort: UInt16(server.port),
                                          definition: .init(type: .tcp))
            for _ in 0..<5 {
                let result = await prober.probe(target)
                XCTAssertEqual(result.outcome, .success(.connected))
            }
            XCTAssertEqual(try timeWaitSockets(port: server.port), 0)
        }
    }

    func testIPv6Checks() async throws {
        try await withServer(host: "::1") { server in
            let prober = StandardProber()
            for type in [HealthCheckDefinition.CheckType.tcp, .http] {
                let target = try HealthTarget(address: "::1", servicePort: UInt16(server.port),
                                              definition: .init(type: type))
                let result = await prober.probe(target)
                XCTAssertTrue(result.isSuccess, "\(type): \(result.reason)")
            }
            let request = try await server.seen.lastRequest
            XCTAssertEqual(request?.headers["Host"], ["[::1]:\(server.port)"])
        }
    }

    /// An answer read late (the reactor batches answers) keeps the latency of its
    /// arrival: a 50 ms answer measures 50 ms and a bit, not 50 ms plus the batching.
    func testLatencyIsTheAnswersArrival() async throws {
        try await withServer(reply: { _ in Reply(delay: .milliseconds(50)) }) { server in
            let definition = try HealthCheckDefinition(type: .http, interval: .seconds(1), timeout: .milliseconds(500))
            let target = try HealthTarget(address: "127.0.0.1", servicePort: UInt16(server.port), definition: definition)
            let result = await StandardProber().probe(target)
            XCTAssertEqual(result.outcome, .success(.status(200)))
            XCTAssertGreaterThanOrEqual(result.latency, .milliseconds(50))
            // Loose: how close the stamp keeps the latency to 50 ms is bench-health's figure.
            XCTAssertLessThan(result.latency, .seconds(1), "\(result.latency)")
        }
    }

    /// Sockets this process has open (event loops' other descriptors come and go).
    private func openSockets() throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter { fd in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"))?.hasPrefix("socket:") == true
        }.count
    }

    /// Sockets in TIME_WAIT to or from `port` on loopback (IPv4 and IPv6).
    private func timeWaitSockets(port: Int) throws -> Int {
        var count = 0
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let text = try String(contentsOfFile: table, encoding: .utf8)
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 3, fields[3] == "06" else { continue }
                let ports = fields[1...2].compactMap { $0.split(separator: ":").last.flatMap { Int($0, radix: 16) } }
                if ports.contains(port) { count += 1 }
            }
        }
        return count
    }
}
