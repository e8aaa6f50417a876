import Foundation
import TestSupport
import XCTest

/// systemd/lbd.service as shipped: systemd accepts it, and it starts lbd the way this
/// package's lbd expects (notify, the config path the example documents).
final class SystemdUnitTests: XCTestCase {
    private let unit = SourceTree.root + "/systemd/lbd.service"

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
                          "ExecStart=/usr/local/bin/lbd --config /etc/lbd/lbd.yaml",
                          "RestartPreventExitStatus=78", "ProtectSystem=strict", "NoNewPrivileges=yes", "Group=lbd"] {
            XCTAssertTrue(lines.contains(directive), directive)
        }
        XCTAssertFalse(lines.contains { $0.hasPrefix("KillMode=none") }, "stop must reach lbd; pins keep forwarding")
    }

    /// A reload waits for lbd's answer, so a refused one fails `systemctl reload`; bpffs
    /// is mounted before lbd, whose sandbox forbids mount(2) and writes outside its paths.
    func testTheUnitReloadsSynchronouslyAndMountsBPFFSBeforeTheSandbox() throws {
        let lines = try String(contentsOfFile: unit, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.filter { $0.hasPrefix("ExecReload=") }, ["ExecReload=/usr/local/bin/lbd reload --config /etc/lbd/lbd.yaml"])
        XCTAssertEqual(lines.filter { $0.hasPrefix("ExecStartPre=") }, [
            "ExecStartPre=/usr/local/bin/lbd check --config /etc/lbd/lbd.yaml",
            "ExecStartPre=+/usr/local/bin/lbd prepare --config /etc/lbd/lbd.yaml",
        ])
        XCTAssertTrue(lines.contains { $0.hasPrefix("SystemCallFilter=~@mount ") }, "lbd never mounts")
        XCTAssertEqual(lines.filter { $0.hasPrefix("ReadWritePaths=") }, ["ReadWritePaths=/var/lib/lbd /run/lbd -/sys/fs/bpf/lbd"])
        for directive in ["ProtectProc=invisible", "ProtectKernelTunables=yes", "SystemCallErrorNumber=EPERM"] {
            XCTAssertTrue(lines.contains(directive), directive)
        }
        XCTAssertTrue(lines.contains { $0.hasPrefix("MemoryMax=") })
    }

    /// state_dir, api_socket and bpf_pin_dir other than the unit's defaults: lbd-generator
    /// writes the drop-in that makes them writable, which systemd takes with the unit; a
    /// file with errors gets no drop-in, and the generator still succeeds.
    func testTheGeneratorMakesTheConfiguredPathsWritable() throws {
        let directory = try temporaryDirectory(self)
        let config = directory + "/lbd.yaml"
        let units = directory + "/units"
        try FileManager.default.createDirectory(atPath: units, withIntermediateDirectories: true)
        let lbd = try LBDBinary.path
        try String(contentsOfFile: unit, encoding: .utf8).replacingOccurrences(of: "/usr/local/bin/lbd", with: lbd)
            .write(toFile: units + "/lbd.service", atomically: true, encoding: .utf8)
        let generator = directory + "/lbd-generator"
        try String(contentsOfFile: unit.replacingOccurrences(of: "lbd.service", with: "lbd-generator"), encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/lbd", with: lbd).replacingOccurrences(of: "/etc/lbd/lbd.yaml", with: config)
            .write(toFile: generator, atomically: true, encoding: .utf8)
        chmod(generator, 0o755)
        try """
            interface: eth0
            api_socket: /run/lbd-other/api.sock
            state_dir: /srv/lbd state
            bpf_pin_dir: /sys/fs/bpf/lbd-50%
            """.write(toFile: config, atomically: true, encoding: .utf8)

        XCTAssertEqual(try runProcess(generator, [units, units, units]), ProcessOutput(stdout: "", stderr: "", status: 0))
        let dropIn = units + "/lbd.service.d/50-lbd-paths.conf"
        XCTAssertEqual(try String(contentsOfFile: dropIn, encoding: .utf8), """
            # Written by lbd-generator from \(config): where lbd writes.
            [Service]
            ReadWritePaths="-/srv/lbd state" "-/run/lbd-other" "-/sys/fs/bpf/lbd-50%%"

            """)
        let verified = try runProcess("/usr/bin/systemd-analyze", ["verify", units + "/lbd.service"])
        XCTAssertEqual(verified.status, 0, verified.stderr)
        XCTAssertEqual(verified.stderr, "")

        try "interface: [".write(toFile: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(try runProcess(generator, [units, units, units]), ProcessOutput(stdout: "", stderr: "", status: 0))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dropIn))
    }

    /// The unit's capabilities are enough: after `lbd prepare`, lbd run with only those (as
    /// root, as the unit runs it) loads and attaches the datapath, and a restart adopts it.
    func testLbdStartsAndAdoptsWithOnlyTheUnitsCapabilities() async throws {
        let line = try XCTUnwrap(try String(contentsOfFile: unit, encoding: .utf8).split(separator: "\n")
            .first { $0.hasPrefix("CapabilityBoundingSet=") })
        let capabilities = line.dropFirst("CapabilityBoundingSet=".count).split(separator: " ")
            .map { $0.lowercased().replacingOccurrences(of: "cap_", with: "") }
        // The bits of linux/capability.h.
        let bits = ["net_admin": 12, "sys_admin": 21, "perfmon": 38, "bpf": 39]
        let mask = try capabilities.reduce(UInt64(0)) { mask, name in
            mask | 1 << UInt64(try XCTUnwrap(bits[name], "\(name): add its bit"))
        }
        let setpriv = ["/usr/bin/setpriv", "--bounding-set", (["-all"] + capabilities.map { "+" + $0 }).joined(separator: ",")]
        let sandbox = try DaemonSandbox(self)
        let config = sandbox.directory + "/lbd.yaml"
        try writeDaemonConfig(to: config, network: sandbox.network, socket: sandbox.socket, directory: sandbox.directory,
                              pins: sandbox.pins, limits: "{ max_vips: 8, max_backends: 16, ring_size: 1009, connection_table: 4096 }",
                              services: "  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 192.0.2.11 } ]")
        // As ExecStartPre=+ does, with every privilege: bpffs, if missing, and the pin directory.
        try shell(try LBDBinary.path, "prepare", "--config", config)
        for (run, expected) in [(1, "msg=\"datapath loaded\""), (2, "msg=\"datapath adopted\"")] {
            let daemon = try DaemonProcess(network: sandbox.network, config: config, log: sandbox.log + "\(run)",
                                           wrapper: setpriv)
            daemon.killAtTeardown(of: self)
            try await daemon.waitForAPI(sandbox.socket)
            let status = try String(contentsOfFile: "/proc/\(daemon.process.processIdentifier)/status", encoding: .utf8)
            XCTAssertTrue(status.contains(String(format: "CapBnd:\t%016llx\n", mask)), "only \(capabilities):\n\(status)")
            XCTAssertTrue(daemon.output.contains(expected), daemon.output)
            XCTAssertNotNil(try sandbox.network.attachedProgramID())
            let exit = try await daemon.stop(SIGTERM)
            XCTAssertEqual(exit, 0, daemon.output)
        }
    }

    /// systemd's own rating of the sandbox (0 = locked down, 10 = exposed): 2.5 at most.
    func testTheUnitsExposureIsAtMostTwoAndAHalf() throws {
        let output = try runProcess("/usr/bin/systemd-analyze", ["security", "--offline=yes", "--no-pager", unit])
        XCTAssertEqual(output.status, 0, output.stderr)
        let match = try XCTUnwrap(output.stdout.firstMatch(of: /Overall exposure level for lbd.service: (\d+\.\d)/),
                                  output.stdout)
        let exposure = try XCTUnwrap(Double(match.output.1))
        XCTAssertLessThanOrEqual(exposure, 2.5, output.stdout)
    }
}
