import Foundation
import TestSupport
import XCTest

/// A machine booted without systemd's bpffs mount: lbd mounts one at /sys/fs/bpf, says
/// so, pins there and serves. The run is in a private mount namespace (scripts/fresh-bpffs),
/// so the test's own bpffs is neither seen nor touched.
final class BPFFSMountTests: XCTestCase {
    private let freshBPFFS = SourceTree.root + "/scripts/fresh-bpffs"

    func testLbdMountsBPFFSWhenNoneIsMountedAndLogsIt() async throws {
        let sandbox = try DaemonSandbox(self)
        let config = sandbox.directory + "/lbd.yaml"
        try writeDaemonConfig(to: config, network: sandbox.network, socket: sandbox.socket, directory: sandbox.directory,
                              pins: sandbox.pins, limits: "{ max_vips: 8, max_backends: 16, ring_size: 1009, connection_table: 4096 }",
                              services: "  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 192.0.2.11 } ]")
        let daemon = try DaemonProcess(network: sandbox.network, config: config, log: sandbox.log, launcher: [freshBPFFS])
        daemon.killAtTeardown(of: self)
        try await daemon.waitForAPI(sandbox.socket)

        XCTAssertTrue(daemon.output.contains(
            "level=notice logger=lbd msg=\"no bpffs was mounted: mounted one\" mount_point=/sys/fs/bpf pin_dir=\(sandbox.pins)"),
            daemon.output)
        // lbd's mount namespace (the launcher exec'd it: same process).
        let namespace = "--mount=/proc/\(daemon.process.processIdentifier)/ns/mnt"
        XCTAssertEqual(try shell("nsenter", namespace, "stat", "-f", "-c", "%T", "/sys/fs/bpf"), "bpf_fs\n")
        let pinned = Set(try shell("nsenter", namespace, "ls", sandbox.pins).split(separator: "\n").map(String.init))
        XCTAssertTrue(pinned.isSuperset(of: ["balancer", "config", "vip_map"]), "\(pinned)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: sandbox.pins), "the test's own bpffs is untouched")
        let status = try await daemon.stop(SIGTERM)
        XCTAssertEqual(status, 0, daemon.output)
    }
}
