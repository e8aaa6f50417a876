import Foundation
import TestSupport
import XCTest

/// systemd/lbd.service as shipped: systemd accepts it, and it starts lbd the way this
/// package's lbd expects (notify, the config path the example documents).
final class SystemdUnitTests: XCTestCase {
    private let unit = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("systemd/lbd.service").path

    func testSystemdAcceptsTheUnit() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else {
            throw MissingTool("systemd-analyze is not installed (Debian package systemd; make test installs it)")
        }
        // The unit names the installed binary; verify against the built one.
        let text = try String(contentsOfFile: unit, encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/lbd", with: try LBDBinary.path)
        let copy = try temporaryDirectory(self) + "/lbd.service"
        try text.write(toFile: copy, atomically: true, encoding: .utf8)
        let output = try runProcess("/usr/bin/systemd-analyze", ["verify", copy])
        XCTAssertEqual(output.status, 0, output.stderr)
        XCTAssertEqual(output.stderr, "")
    }

    func testTheUnitRunsLbdAsANotifyServiceThatSurvivesRestarts() throws {
        let lines = Set(try String(contentsOfFile: unit, encoding: .utf8).split(separator: "\n").map(String.init))
        for directive in ["Type=notify", "NotifyAccess=main", "WatchdogSec=10s", "Restart=on-failure",
                          "ExecStart=/usr/local/bin/lbd --config /etc/lbd/lbd.yaml", "ExecReload=/bin/kill -HUP $MAINPID",
                          "RestartPreventExitStatus=78", "ProtectSystem=strict", "NoNewPrivileges=yes",
                          "ReadWritePaths=/var/lib/lbd /run/lbd /sys/fs/bpf", "Group=lbd"] {
            XCTAssertTrue(lines.contains(directive), directive)
        }
        XCTAssertFalse(lines.contains { $0.hasPrefix("KillMode=none") }, "stop must reach lbd; pins keep forwarding")
    }
}
