import Daemon
import Foundation
import TestSupport
import XCTest

/// Refusals before anything is touched: a bad configuration, a second daemon.
final class StartupTests: XCTestCase {
    /// Exit 78 (EX_CONFIG, no systemd restart) with the file's errors in the log.
    func testAnInvalidConfigurationRefusesToStart() throws {
        let file = try temporaryDirectory(self) + "/lbd.yaml"
        try "interface: eth0\nmtu: 100\n".write(toFile: file, atomically: true, encoding: .utf8)
        let output = try runProcess(try LBDBinary.path, ["--config", file])
        XCTAssertEqual(output.status, 78)
        XCTAssertEqual(output.stdout, "")
        XCTAssertTrue(output.stderr.contains("level=critical logger=lbd msg=\"lbd did not start: invalid configuration:\\n"
            + "\(file):2:6: mtu: bad MTU '100': expected 0 (no check) or 1320...65535\""), output.stderr)
    }

    func testOneDaemonPerStateDirectory() throws {
        let directory = try temporaryDirectory(self) + "/state"
        do {
            let first = try StateLock(directory: directory)
            XCTAssertThrowsError(try StateLock(directory: directory)) { error in
                XCTAssertEqual("\(error)", "\(directory)/lbd.lock is locked: another lbd is running on state_dir \(directory)")
            }
            withExtendedLifetime(first) {}
        }
        XCTAssertNoThrow(try StateLock(directory: directory), "released with its holder")
    }

    func testHelpDocumentsTheReset() throws {
        let output = try runProcess(try LBDBinary.path, ["help", "run"])
        XCTAssertEqual(output.status, 0)
        XCTAssertTrue(output.stdout.contains("--reset-datapath"), output.stdout)
    }
}
