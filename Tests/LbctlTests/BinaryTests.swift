import Foundation
import TestSupport
import XCTest

/// The built `lbctl` binary as scripts run it: exit codes, output streams, standard
/// input and completion scripts.
final class BinaryTests: LbctlTestCase {
    /// `lbctl` next to this test bundle, in the build's products directory.
    private var binary: String {
        get throws {
            let bundle = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            let path = URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("lbctl").path
            return try XCTUnwrap(FileManager.default.isExecutableFile(atPath: path) ? path : nil,
                                 "\(path) is not built (swift build --build-tests builds it)")
        }
    }

    private func run(_ arguments: [String], input: String = "", socket: String? = nil) throws
        -> (status: Int32, output: String, error: String) {
        let result = try runProcess(try binary, arguments, input: input, environment: ["LBD_SOCKET": socket ?? daemon.path])
        return (result.status, result.stdout, result.stderr)
    }

    func testExitCodes() throws {
        let missing = daemon.directory + "/missing.sock"
        let unreachable = try run(["status"], socket: missing)
        XCTAssertEqual(unreachable.status, 3)
        XCTAssertEqual(unreachable.output, "")
        XCTAssertEqual(unreachable.error, "lbctl: cannot connect to \(missing): No such file or directory (is lbd running?)\n")

        let usage = try run(["vip", "add", "10.0.0.300:80/tcp"])
        XCTAssertEqual(usage.status, 2)
        XCTAssertEqual(usage.error, "lbctl: bad VIP '10.0.0.300:80/tcp': bad IPv4 address '10.0.0.300': 300 is above 255\n")

        daemon.answer("POST", "/v1/edit", .json(409, #"{"error":"VIP 10.0.0.10:80/tcp already exists"}"#))
        let refused = try run(["vip", "add", "10.0.0.10:80/tcp"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(refused.error, "lbctl: VIP 10.0.0.10:80/tcp already exists\n")

        daemon.answer("GET", "/v1/status", .json(200, Fixtures.status))
        let status = try run(["status"])
        XCTAssertEqual(status.status, 0)
        XCTAssertEqual(status.error, "")
        XCTAssertTrue(status.output.hasPrefix("datapath: native XDP on eth0, adopted from pinned maps\n\nVIP "), status.output)
    }

    func testVersionNamesTheReleaseAndTheCommit() throws {
        let result = try run(["--version"])
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.output, "lbctl \(try SourceTree.version) (commit \(try SourceTree.commit))\n")
        XCTAssertEqual(result.error, "")
        XCTAssertEqual(daemon.requests.count, 0, "--version asks lbd nothing")
    }

    func testApplyReadsTheProcesssStandardInput() throws {
        daemon.answer("POST", "/v1/apply?dry_run=1", .json(200, #"{"plan":"no changes","applied":false}"#))
        let result = try run(["apply", "-f", "-", "--dry-run"], input: Fixtures.servicesYAML)
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.output, "no changes\n")
        XCTAssertEqual(daemon.requests.map(\.body), [Fixtures.servicesYAML])
    }

    func testCompletionScriptsAreValidShell() throws {
        let bash = try run(["--generate-completion-script", "bash"])
        XCTAssertEqual(bash.status, 0)
        let script = daemon.directory + "/lbctl.bash"
        try bash.output.write(toFile: script, atomically: true, encoding: .utf8)
        // Sourcing the script defines the function and registers it, as bash-completion does.
        let registration = try shell("/bin/bash", "-c", "source \(script) && complete -p lbctl")
        // `complete -p` names the command whatever is registered: the function is the point.
        XCTAssertEqual(registration, "complete -o filenames -F _lbctl lbctl\n")
        for shell in ["zsh", "fish"] {
            let result = try run(["--generate-completion-script", shell])
            XCTAssertEqual(result.status, 0, shell)
            XCTAssertTrue(result.output.contains("undrain"), shell)
        }
    }
}
