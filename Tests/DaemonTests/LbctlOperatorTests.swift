import Foundation
import Glibc
import TestSupport
import XCTest

/// The built lbctl against the real lbd, as an operator and a script use it: apply's
/// plan, confirmation on a terminal (a pseudo-terminal here) and without one, the
/// version guard against another operator's edit, --prune, --dry-run --exit-code,
/// retried edits, drain in every VIP, status of one VIP; exact output and exit codes.
final class LbctlOperatorTests: XCTestCase {
    private var sandbox: DaemonSandbox!
    private var daemon: DaemonProcess!
    private var file: String { sandbox.directory + "/services.yaml" }

    /// 192.0.2.11 in both VIPs.
    private static let services = """
          - vip: 10.0.0.10:80/tcp
            backends: [ { address: 192.0.2.11 }, { address: 192.0.2.12, weight: 50 } ]
          - vip: 10.0.0.20:443/tcp
            backends: [ { address: 192.0.2.11 } ]
        """

    /// The first VIP with 192.0.2.13 instead of 192.0.2.12; the second VIP left out.
    private static let file = """
        services:
          - vip: 10.0.0.10:80/tcp
            backends: [ { address: 192.0.2.11 }, { address: 192.0.2.13 } ]

        """

    private static let plan = """
        ~ 10.0.0.10:80/tcp
            + 192.0.2.13 weight 100
            - 192.0.2.12
        0 VIPs added, 0 removed, 1 changed
        1 VIP not in the file kept (--prune removes it)

        """

    private static let listBefore = """
        VIP                HASH    UDP TIMEOUT  BACKENDS  DRAINED
        10.0.0.10:80/tcp   5tuple  -                   2        0
        10.0.0.20:443/tcp  5tuple  -                   1        0

        """

    private static let notConfirmed = "lbctl: not applied: not confirmed\n"
    private static let noTerminal = "lbctl: not applied: standard input is not a terminal to confirm on; "
        + "check the plan (--dry-run) and apply with --yes\n"

    override func setUp() async throws {
        sandbox = try DaemonSandbox(self)
        daemon = try await sandbox.startDaemon(limits: "{ max_vips: 4, max_backends: 8, ring_size: 1009, connection_table: 4096 }",
                                          services: Self.services)
        try Self.file.write(toFile: file, atomically: true, encoding: .utf8)
    }

    func testApplyAsksOnATerminalAndRefusesWithoutOne() throws {
        // Declined on the terminal: nothing applied, exit 6.
        let terminal = try PseudoTerminal()
        let declined = try lbctl(["apply", "-f", file], terminal: terminal) { terminal.type("n\n") }
        XCTAssertEqual(declined, Output(status: 6, stdout: Self.plan, stderr: "Apply these changes? [y/N] " + Self.notConfirmed))
        // No terminal, no --yes: never applied silently, exit 6.
        XCTAssertEqual(try lbctl(["apply", "-f", file]), Output(status: 6, stdout: Self.plan, stderr: Self.noTerminal))
        XCTAssertEqual(try lbctl(["apply", "-f", "-"], input: Self.file),
                       Output(status: 6, stdout: Self.plan, stderr: Self.noTerminal))
        XCTAssertEqual(try lbctl(["vip", "list"]), Output(status: 0, stdout: Self.listBefore))

        // Confirmed on the terminal.
        let confirmed = try lbctl(["apply", "-f", file], terminal: terminal) { terminal.type("yes\n") }
        XCTAssertEqual(confirmed, Output(status: 0, stdout: Self.plan + "applied\n", stderr: "Apply these changes? [y/N] "))
        XCTAssertEqual(try lbctl(["vip", "list"]), Output(status: 0, stdout: """
            VIP                HASH    UDP TIMEOUT  BACKENDS  DRAINED
            10.0.0.10:80/tcp   5tuple  -                   2        0
            10.0.0.20:443/tcp  5tuple  -                   1        0

            """))
        XCTAssertEqual(try lbctl(["apply", "-f", file, "--dry-run", "--exit-code"]),
                       Output(status: 0, stdout: "no changes\n1 VIP not in the file kept (--prune removes it)\n"))

        // --prune, in a script: --yes.
        XCTAssertEqual(try lbctl(["apply", "-f", file, "--prune", "--dry-run", "--exit-code"]), Output(status: 2, stdout: """
            - 10.0.0.20:443/tcp (1 backend)
            0 VIPs added, 1 removed, 0 changed

            """))
        XCTAssertEqual(try lbctl(["apply", "-f", file, "--prune", "--yes"]), Output(status: 0, stdout: """
            - 10.0.0.20:443/tcp (1 backend)
            0 VIPs added, 1 removed, 0 changed
            applied

            """))
        XCTAssertEqual(try lbctl(["apply", "-f", file, "--prune", "--dry-run", "--exit-code"]),
                       Output(status: 0, stdout: "no changes\n"))
    }

    /// Another operator edits while the plan waits for confirmation: the apply is refused
    /// (exit 5) and only the other edit is in force.
    func testAnEditDuringTheConfirmationMakesTheApplyRefused() throws {
        let terminal = try PseudoTerminal()
        var version = ""
        let result = try lbctl(["apply", "-f", file], terminal: terminal) {
            XCTAssertEqual(try self.lbctl(["backend", "drain", "192.0.2.12"]),
                           Output(status: 0, stdout: "drained 192.0.2.12 in every VIP that has it\n"))
            version = try self.version()
            terminal.type("y\n")
        }
        XCTAssertEqual(result.status, 5, result.stderr)
        XCTAssertEqual(result.stdout, Self.plan)
        let prefix = "Apply these changes? [y/N] lbctl: the services changed since the plan was made (version "
        XCTAssertTrue(result.stderr.hasPrefix(prefix), result.stderr)
        XCTAssertTrue(result.stderr.hasSuffix(", now \(version)); nothing applied: review the new plan and apply again\n"),
                      result.stderr)
        XCTAssertEqual(try lbctl(["vip", "list"]), Output(status: 0, stdout: """
            VIP                HASH    UDP TIMEOUT  BACKENDS  DRAINED
            10.0.0.10:80/tcp   5tuple  -                   2        1
            10.0.0.20:443/tcp  5tuple  -                   1        0

            """))
    }

    /// The same edit twice (a retry after a timeout) succeeds unchanged; a conflicting
    /// one is refused; a remove of something absent is refused (a typo must not pass).
    func testRetriedEditsAreUnchangedAndConflictingOnesRefused() throws {
        let rows: [(arguments: [String], expected: Output)] = [
            (["vip", "add", "10.0.0.30:53/udp", "--hash", "source", "--udp-idle-timeout", "30s"],
             Output(status: 0, stdout: "added VIP 10.0.0.30:53/udp\n")),
            (["vip", "add", "10.0.0.30:53/udp", "--hash", "source", "--udp-idle-timeout", "30s"],
             Output(status: 0, stdout: "unchanged: VIP 10.0.0.30:53/udp already exists so\n")),
            (["vip", "add", "10.0.0.30:53/udp"], Output(status: 1, stderr: "lbctl: VIP 10.0.0.30:53/udp already exists\n")),
            (["backend", "add", "10.0.0.30:53/udp", "192.0.2.31", "--weight", "20"],
             Output(status: 0, stdout: "added backend 192.0.2.31 to 10.0.0.30:53/udp\n")),
            (["backend", "add", "10.0.0.30:53/udp", "192.0.2.31", "--weight", "20"],
             Output(status: 0, stdout: "unchanged: 10.0.0.30:53/udp already has backend 192.0.2.31 with weight 20\n")),
            (["backend", "add", "10.0.0.30:53/udp", "192.0.2.31"],
             Output(status: 1, stderr: "lbctl: VIP 10.0.0.30:53/udp already has backend 192.0.2.31\n")),
            (["backend", "set", "10.0.0.30:53/udp", "192.0.2.31", "--weight", "20"],
             Output(status: 0, stdout: "unchanged: 192.0.2.31 in 10.0.0.30:53/udp already has weight 20\n")),
            (["backend", "drain", "192.0.2.11"], Output(status: 0, stdout: "drained 192.0.2.11 in every VIP that has it\n")),
            (["backend", "drain", "192.0.2.11"],
             Output(status: 0, stdout: "unchanged: 192.0.2.11 is already drained in every VIP that has it\n")),
            (["backend", "drain", "10.0.0.10:80/tcp", "192.0.2.11"],
             Output(status: 0, stdout: "unchanged: 192.0.2.11 is already drained in 10.0.0.10:80/tcp\n")),
            (["backend", "remove", "10.0.0.30:53/udp", "192.0.2.31"],
             Output(status: 0, stdout: "removed backend 192.0.2.31 from 10.0.0.30:53/udp\n")),
            (["backend", "remove", "10.0.0.30:53/udp", "192.0.2.31"],
             Output(status: 1, stderr: "lbctl: VIP 10.0.0.30:53/udp has no backend 192.0.2.31\n")),
            (["vip", "remove", "10.0.0.30:53/udp"], Output(status: 0, stdout: "removed VIP 10.0.0.30:53/udp\n")),
            (["vip", "remove", "10.0.0.30:53/udp"], Output(status: 1, stderr: "lbctl: no VIP 10.0.0.30:53/udp\n")),
        ]
        for row in rows {
            XCTAssertEqual(try lbctl(row.arguments), row.expected, row.arguments.joined(separator: " "))
        }
        XCTAssertEqual(try lbctl(["vip", "list"]), Output(status: 0, stdout: """
            VIP                HASH    UDP TIMEOUT  BACKENDS  DRAINED
            10.0.0.10:80/tcp   5tuple  -                   2        1
            10.0.0.20:443/tcp  5tuple  -                   1        1

            """))
    }

    /// --json on an edit is lbd's answer, whose version is the one the services show;
    /// status of one VIP has that VIP only.
    func testJSONEditsAndTheStatusOfOneVIP() throws {
        let drained = try lbctl(["backend", "drain", "10.0.0.20:443/tcp", "192.0.2.11", "--json"])
        XCTAssertEqual(drained, Output(status: 0, stdout: """
            {
              "changed" : true,
              "ok" : true,
              "version" : "\(try version())"
            }

            """))
        let one = try lbctl(["status", "10.0.0.20:443/tcp"])
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertTrue(one.stdout.contains("\n10.0.0.20:443/tcp "), one.stdout)
        XCTAssertFalse(one.stdout.contains("10.0.0.10:80/tcp"), one.stdout)
        XCTAssertEqual(try lbctl(["status", "10.0.0.20:444/tcp"]),
                       Output(status: 1, stderr: "lbctl: no VIP 10.0.0.20:444/tcp\n"))

        // apply --json on a terminal: the plan goes with the question, standard output is lbd's answer.
        let terminal = try PseudoTerminal()
        let applied = try lbctl(["apply", "-f", file, "--json"], terminal: terminal) { terminal.type("y\n") }
        XCTAssertEqual(applied, Output(status: 0, stdout: """
            {
              "added" : [

              ],
              "applied" : true,
              "changed" : [
                "10.0.0.10:80/tcp"
              ],
              "kept" : [
                "10.0.0.20:443/tcp"
              ],
              "plan" : "~ 10.0.0.10:80/tcp\\n    + 192.0.2.13 weight 100\\n    - 192.0.2.12\\n0 VIPs added, 0 removed, 1 changed",
              "removed" : [

              ],
              "version" : "\(try version())"
            }

            """, stderr: Self.plan + "Apply these changes? [y/N] "))
    }

    // MARK: Running lbctl

    private typealias Output = ProcessOutput

    /// The services' version, as `vip list --json` shows it.
    private func version() throws -> String {
        let list = try lbctl(["vip", "list", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any]
        return try XCTUnwrap(object?["version"] as? String, list.stdout)
    }

    /// lbctl with `input` on a pipe as its standard input.
    private func lbctl(_ arguments: [String], input: String = "") throws -> Output {
        try runProcess(try LbctlBinary.path, ["--socket", sandbox.socket] + arguments, input: input)
    }

    /// lbctl on `terminal`; once it has asked its question, `atPrompt` runs (and answers).
    /// Hand-rolled, unlike `runProcess`: its standard input is the terminal, and its stderr
    /// is read up to the question before the rest.
    private func lbctl(_ arguments: [String], terminal: PseudoTerminal, atPrompt: () throws -> Void) throws -> Output {
        let process = Process(), out = Pipe(), err = Pipe()
        process.executableURL = URL(fileURLWithPath: try LbctlBinary.path)
        process.arguments = ["--socket", sandbox.socket] + arguments
        process.standardInput = FileHandle(fileDescriptor: terminal.replica, closeOnDealloc: false)
        process.standardOutput = out
        process.standardError = err
        try process.run()
        var stderr = Data()
        while !String(decoding: stderr, as: UTF8.self).hasSuffix("[y/N] ") {
            let chunk = err.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            stderr += chunk
        }
        try atPrompt()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        stderr += err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }
}

/// A pseudo-terminal pair: a process reads its `replica` side as a terminal, and what the
/// test types on the `primary` side is its input, line by line as from a keyboard.
private final class PseudoTerminal {
    let primary: Int32
    let replica: Int32

    init() throws {
        var (primary, replica): (Int32, Int32) = (-1, -1)
        guard openpty(&primary, &replica, nil, nil, nil) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        (self.primary, self.replica) = (primary, replica)
    }

    func type(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { write(primary, $0.baseAddress, $0.count) }
    }

    deinit {
        close(replica)
        close(primary)
    }
}
