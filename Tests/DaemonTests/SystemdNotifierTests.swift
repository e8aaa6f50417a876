import Daemon
import Foundation
import Logging
import ServiceLifecycle
import TestSupport
import XCTest

/// sd_notify against a real unix datagram socket, as systemd listens.
final class SystemdNotifierTests: XCTestCase {
    /// A bound datagram socket: `name` is a path, or `@name` in the abstract namespace.
    private final class Listener {
        let fd: Int32

        init(_ name: String) throws {
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            var bytes = Array(name.utf8)
            if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
            let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(length)) }
            }
            guard result == 0 else { throw POSIXError(.init(rawValue: errno)!) }
        }

        deinit { close(fd) }

        func receive() -> String? {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &buffer, buffer.count, 0)
            return count < 0 ? nil : String(decoding: buffer[..<count], as: UTF8.self)
        }
    }

    func testNotifiesAPathSocket() throws {
        let path = try temporaryDirectory(self) + "/notify"
        let listener = try Listener(path)
        let notifier = try XCTUnwrap(SystemdNotifier(environment: ["NOTIFY_SOCKET": path]))
        try notifier.notify(["READY=1", "STATUS=serving 2 VIPs"])
        XCTAssertEqual(listener.receive(), "READY=1\nSTATUS=serving 2 VIPs")
    }

    func testNotifiesAnAbstractSocket() throws {
        let name = uniqueName("@lbd-test-notify-")
        let listener = try Listener(name)
        try SystemdNotifier(socketPath: name).notify(["STOPPING=1"])
        XCTAssertEqual(listener.receive(), "STOPPING=1")
    }

    func testWithoutNotifySocketThereIsNoNotifier() {
        XCTAssertNil(SystemdNotifier(environment: [:]))
        XCTAssertNil(SystemdNotifier(environment: ["NOTIFY_SOCKET": ""]))
    }

    func testTheWatchdogIntervalIsHalfOfWatchdogSec() {
        XCTAssertEqual(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "10000000"], pid: 42), .seconds(5))
        XCTAssertEqual(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "42"], pid: 42),
                       .seconds(5))
        XCTAssertNil(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "7"], pid: 42),
                     "meant for another process")
        XCTAssertNil(SystemdNotifier.watchdogInterval(environment: [:], pid: 42))
        XCTAssertNil(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "0"], pid: 42))
    }

    /// The watchdog pings while the probe answers, and stops at graceful shutdown.
    func testTheWatchdogPingsUntilShutdown() async throws {
        let path = try temporaryDirectory(self) + "/notify"
        let listener = try Listener(path)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let watchdog = WatchdogService(notifier: SystemdNotifier(socketPath: path), interval: .milliseconds(20),
                                       logger: logger) {}
        let group = ServiceGroup(services: [watchdog], logger: logger)
        let running = Task { try await group.run() }
        for _ in 0..<3 { XCTAssertEqual(listener.receive(), "WATCHDOG=1") }
        await group.triggerGracefulShutdown()
        try await running.value
    }
}
