import Datapath
import Foundation
import TestSupport
import XCTest

/// The API socket is lbd's only access control: mode 0660, owner root, group lbd. A
/// user outside group lbd is refused by the kernel (lbctl says why, exit 3); the same
/// user in group lbd gets an answer. Runs the real lbd and the real lbctl under setpriv
/// as a throwaway system user.
final class SocketPermissionTests: XCTestCase {
    private var network: NamespaceNetwork!
    private var directory = ""
    private var pins = ""
    private var socket: String { directory + "/run/lbd.sock" }
    private var user: (name: String, uid: uid_t, gid: gid_t)!
    private var lbdGroup: gid_t = 0

    override func setUpWithError() throws {
        try requireRoot("the daemon's kernel tests")
        // The group must exist before lbd creates the socket: lbd chowns it to lbd only then.
        if getgrnam("lbd") == nil {
            try shell("groupadd", "--system", "lbd")
            addTeardownBlock { _ = try? shell("groupdel", "lbd") }
        }
        lbdGroup = try XCTUnwrap(getgrnam("lbd")).pointee.gr_gid
        let name = uniqueName("lbdtest-")
        if getpwnam(name) == nil {
            try shell("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name)
            addTeardownBlock { _ = try? shell("userdel", name) }
        }
        let entry = try XCTUnwrap(getpwnam(name)).pointee
        user = (name, entry.pw_uid, entry.pw_gid)
        XCTAssertNotEqual(user.uid, 0)
        network = try NamespaceNetwork(self)
        directory = try temporaryDirectory(self)
        // Other users must reach the socket's directory; only the socket's mode refuses them.
        XCTAssertEqual(chmod(directory, 0o755), 0)
        pins = "/sys/fs/bpf/\(network.namespace)"
        addTeardownBlock { [pins] in _ = try? BalancerDatapath.removePins(pinDirectory: pins) }
    }

    private func startDaemon() async throws -> DaemonProcess {
        let config = directory + "/lbd.yaml"
        try writeDaemonConfig(to: config, network: network, socket: socket, directory: directory, pins: pins,
                              limits: "{ max_vips: 8, max_backends: 16, ring_size: 1009, connection_table: 4096 }",
                              services: """
                                - vip: 10.0.0.10:80/tcp
                                  backends: [ { address: 192.0.2.11 } ]
                              """)
        let daemon = try DaemonProcess(network: network, config: config, log: directory + "/lbd.log")
        daemon.killAtTeardown(of: self)
        try await daemon.waitForAPI(socket)
        return daemon
    }

    /// `command` run as the throwaway user, with `groups` as its only supplementary groups.
    private func asUser(groups: [gid_t], _ command: [String]) throws -> ProcessOutput {
        let groupOption = groups.isEmpty ? "--clear-groups" : "--groups=" + groups.map(String.init).joined(separator: ",")
        return try runProcess("/usr/bin/setpriv", ["--reuid=\(user.uid)", "--regid=\(user.gid)", groupOption] + command)
    }

    func testOnlyRootAndGroupLbdMayUseTheAPISocket() async throws {
        let daemon = try await startDaemon()

        var info = stat()
        XCTAssertEqual(stat(socket, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFSOCK)
        XCTAssertEqual(info.st_mode & 0o7777, 0o660, "socket mode \(String(info.st_mode & 0o7777, radix: 8))")
        XCTAssertEqual(info.st_uid, 0, "owner root")
        XCTAssertEqual(info.st_gid, lbdGroup, "group lbd")

        // Outside group lbd: refused by the kernel, lbctl says so and exits 3.
        let refused = try asUser(groups: [], [try LbctlBinary.path, "--socket", socket, "status"])
        XCTAssertEqual(refused.status, 3, "lbctl as \(user.name) outside group lbd: \(refused)")
        XCTAssertTrue(refused.stderr.contains("Permission denied"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("(lbctl needs root or group lbd)"), refused.stderr)
        XCTAssertEqual(refused.stdout, "")
        let curl = try asUser(groups: [], ["/usr/bin/curl", "-sS", "--unix-socket", socket, "http://lbd/v1/status"])
        XCTAssertEqual(curl.status, 7, "curl could not connect: \(curl)")
        XCTAssertTrue(curl.stderr.contains("Permission denied") || curl.stderr.contains("Couldn't connect"), curl.stderr)

        // In group lbd (supplementary): served.
        let member = try asUser(groups: [lbdGroup], [try LbctlBinary.path, "--socket", socket, "status"])
        XCTAssertEqual(member.status, 0, "lbctl as \(user.name) in group lbd: \(member)")
        XCTAssertTrue(member.stdout.contains("10.0.0.10:80/tcp"), member.stdout)
        let memberCurl = try asUser(groups: [lbdGroup], ["/usr/bin/curl", "-sS", "--unix-socket", socket, "http://lbd/v1/status"])
        XCTAssertEqual(memberCurl.status, 0, "\(memberCurl)")
        XCTAssertTrue(memberCurl.stdout.contains("\"10.0.0.10:80/tcp\""), memberCurl.stdout)

        let stopped = try await daemon.stop(SIGTERM)
        XCTAssertEqual(stopped, 0, daemon.output)
    }
}
