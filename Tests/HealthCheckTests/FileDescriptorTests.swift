import Foundation
import HealthCheck
import TestSupport
import XCTest

/// Checks leave nothing open: the process holds as many descriptors after 200 failing
/// checks as before them.
final class FileDescriptorTests: XCTestCase {
    func testFailingChecksLeakNoDescriptors() async throws {
        let refusing = try RefusingPort()
        try await withServer(reply: { _ in Reply(silent: true) }) { silent in
            let prober = StandardProber()
            let refused = try HealthTarget(address: "127.0.0.1", servicePort: UInt16(refusing.port),
                                           definition: .init(type: .tcp, interval: .seconds(2), timeout: .seconds(1)))
            let timingOut = try HealthTarget(address: "127.0.0.1", servicePort: UInt16(silent.port),
                                             definition: .init(type: .http, interval: .seconds(2), timeout: .seconds(1)))
            // Warm up: the event loops and TLS-free pipelines exist before counting.
            _ = await prober.probe(refused)
            _ = await prober.probe(timingOut)
            try await waitFor("the warm-up connection to close") { try await silent.seen.openConnections == 0 }
            let before = try openDescriptors()

            // A timeout far above loopback's connect time: on a loaded machine a 100 ms
            // one also caught connects, and which stage times out is not what this counts.
            let reasons = await withTaskGroup(of: String.self) { group in
                for index in 0..<200 {
                    group.addTask { await prober.probe(index.isMultiple(of: 2) ? refused : timingOut).reason }
                }
                return await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
            }
            XCTAssertEqual(reasons, ["connection refused": 100, "timeout after 1 s (awaiting response)": 100])

            try await waitFor("the server to see every connection closed") {
                try await silent.seen.openConnections == 0
            }
            let after = try openDescriptors()
            print("open descriptors before 200 failing checks: \(before), after: \(after)")
            XCTAssertLessThanOrEqual(abs(after - before), 2, "descriptors before \(before), after \(after)")
        }
    }

    private func openDescriptors() throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
    }
}
