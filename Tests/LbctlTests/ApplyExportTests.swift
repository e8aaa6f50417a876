@testable import LbctlCore
import XCTest

/// `lbctl apply -f` (plan first, then apply against the plan's version) and `lbctl export`.
final class ApplyExportTests: LbctlTestCase {
    private var file: String!

    override func setUpWithError() throws {
        try super.setUpWithError()
        file = daemon.directory + "/services.yaml"
        try Fixtures.servicesYAML.write(toFile: file, atomically: true, encoding: .utf8)
    }

    private static let dryRunTarget = "/v1/apply?dry_run=1&prune=0"
    private static let applyTarget = "/v1/apply?dry_run=0&prune=0&if_version=00000000000000a1"

    private func applyRequest(_ target: String) -> FakeDaemon.Request {
        .init(method: "POST", target: target, contentType: "application/yaml", body: Fixtures.servicesYAML)
    }

    /// lbd's answer: a dry run's is made against version …a1, an apply leads to …a2.
    private static func plan(_ text: String, applied: Bool, kept: [String] = []) -> FakeDaemon.Answer {
        .json(200, answer(text, applied: applied, kept: kept))
    }

    private static func answer(_ text: String, applied: Bool, kept: [String] = []) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let json = try! encoder.encode(["plan": text])
        let keptList = kept.map { "\"\($0)\"" }.joined(separator: ",")
        return String(decoding: json.dropLast(), as: UTF8.self)
            + #","applied":\#(applied),"kept":[\#(keptList)],"version":"00000000000000a\#(applied ? 2 : 1)"}"#
    }

    func testDryRunPrintsThePlanAndChangesNothing() {
        daemon.answer("POST", Self.dryRunTarget, Self.plan(Fixtures.plan, applied: false))
        XCTAssertEqual(lbctl("apply", "-f", file, "--dry-run"), success(Fixtures.plan + "\n"))
        XCTAssertEqual(daemon.requests, [applyRequest(Self.dryRunTarget)])
    }

    /// For CI: exit 2 when the plan has changes, 0 when none; the plan is printed either way.
    func testDryRunExitCodeSaysWhetherThePlanHasChanges() {
        daemon.answer("POST", Self.dryRunTarget, Self.plan(Fixtures.plan, applied: false))
        XCTAssertEqual(lbctl("apply", "-f", file, "--dry-run", "--exit-code"),
                       LbctlResult(exitCode: 2, standardOutput: Fixtures.plan + "\n", standardError: ""))
        daemon.answer("POST", Self.dryRunTarget, Self.plan("no changes", applied: false))
        XCTAssertEqual(lbctl("apply", "-f", file, "--dry-run", "--exit-code"), success("no changes\n"))
        XCTAssertEqual(daemon.requests, Array(repeating: applyRequest(Self.dryRunTarget), count: 2))
    }

    /// The apply carries the version the plan was made against.
    func testApplyWithYesShowsThePlanThenAppliesItAgainstItsVersion() {
        daemon.answer("POST", Self.dryRunTarget, Self.plan(Fixtures.plan, applied: false))
        daemon.answer("POST", Self.applyTarget, Self.plan(Fixtures.plan, applied: true))
        XCTAssertEqual(lbctl("apply", "--filename", file, "--yes"), success(Fixtures.plan + "\napplied\n"))
        XCTAssertEqual(daemon.requests, [applyRequest(Self.dryRunTarget), applyRequest(Self.applyTarget)])
    }

    /// Without a terminal to ask on, and without --yes, nothing is applied.
    func testApplyWithoutATerminalNeedsYes() {
        daemon.answer("POST", Self.dryRunTarget, Self.plan(Fixtures.plan, applied: false))
        XCTAssertEqual(lbctl("apply", "-f", file), LbctlResult(
            exitCode: 6, standardOutput: Fixtures.plan + "\n",
            standardError: "lbctl: not applied: standard input is not a terminal to confirm on; "
                + "check the plan (--dry-run) and apply with --yes\n"))
        XCTAssertEqual(daemon.requests, [applyRequest(Self.dryRunTarget)])
    }

    func testApplyWithoutChangesSaysSoOnceAndSendsNoApply() {
        daemon.answer("POST", Self.dryRunTarget, Self.plan("no changes", applied: false))
        XCTAssertEqual(lbctl("apply", "-f", file), success("no changes\n"))
        XCTAssertEqual(daemon.requests, [applyRequest(Self.dryRunTarget)])
    }

    /// Without --prune lbd keeps the VIPs the file lacks, and the plan says how many.
    func testPruneIsSentOnlyWhenAskedAndKeptVIPsAreCounted() {
        daemon.answer("POST", Self.dryRunTarget, Self.plan(Fixtures.plan, applied: false,
                                                            kept: ["10.0.0.12:53/udp", "10.0.0.13:80/tcp"]))
        XCTAssertEqual(lbctl("apply", "-f", file, "--dry-run"),
                       success(Fixtures.plan + "\n2 VIPs not in the file kept (--prune removes them)\n"))
        let pruned = "- 10.0.0.12:53/udp (0 backends)\n0 VIPs added, 1 removed, 0 changed"
        daemon.answer("POST", "/v1/apply?dry_run=1&prune=1", Self.plan(pruned, applied: false))
        daemon.answer("POST", "/v1/apply?dry_run=0&prune=1&if_version=00000000000000a1", Self.plan(pruned, applied: true))
        XCTAssertEqual(lbctl("apply", "-f", file, "--prune", "-y"), success(pruned + "\napplied\n"))
        XCTAssertEqual(daemon.requests.map(\.target), [Self.dryRunTarget, "/v1/apply?dry_run=1&prune=1",
                                                       "/v1/apply?dry_run=0&prune=1&if_version=00000000000000a1"])
    }

    /// Another edit between the plan and the apply: lbd refuses (409 state_changed), exit 5.
    func testAnApplyAgainstAStaleVersionIsRefusedWithItsOwnExitCode() {
        let message = "the services changed since the plan was made (version 00000000000000a1, now 00000000000000b7); "
            + "nothing applied: review the new plan and apply again"
        daemon.answer("POST", Self.dryRunTarget, Self.plan(Fixtures.plan, applied: false))
        daemon.answer("POST", Self.applyTarget, .json(409, #"{"code":"state_changed","error":"\#(message)"}"#))
        XCTAssertEqual(lbctl("apply", "-f", file, "--yes"), LbctlResult(
            exitCode: 5, standardOutput: Fixtures.plan + "\n", standardError: "lbctl: \(message)\n"))
    }

    /// Saved, but the datapath write failed and is retried by lbd: exit 4, not 1.
    func testAnApplySavedButNotYetInTheDatapathExitsFour() {
        let message = "saved, but the datapath is not up to date yet (retrying): datapath write failed: injected"
        daemon.answer("POST", Self.dryRunTarget, Self.plan(Fixtures.plan, applied: false))
        daemon.answer("POST", Self.applyTarget, .json(500, #"{"code":"datapath_pending","error":"\#(message)"}"#))
        XCTAssertEqual(lbctl("apply", "-f", file, "--yes"), LbctlResult(
            exitCode: 4, standardOutput: Fixtures.plan + "\n", standardError: "lbctl: \(message)\n"))
    }

    /// --json prints lbd's last answer only, as lbd sent it: the apply's, or the dry run's.
    func testJSONPrintsLbdsAnswer() {
        daemon.answer("POST", Self.dryRunTarget, Self.plan(Fixtures.plan, applied: false))
        daemon.answer("POST", Self.applyTarget, Self.plan(Fixtures.plan, applied: true))
        XCTAssertEqual(lbctl("apply", "-f", file, "--yes", "--json"), success(Self.answer(Fixtures.plan, applied: true) + "\n"))
        XCTAssertEqual(lbctl("apply", "-f", file, "--dry-run", "--json"),
                       success(Self.answer(Fixtures.plan, applied: false) + "\n"))
    }

    func testApplyReadsStandardInput() {
        daemon.answer("POST", Self.dryRunTarget, Self.plan(Fixtures.plan, applied: false))
        XCTAssertEqual(lbctl("apply", "-f", "-", "--dry-run", standardInput: Fixtures.servicesYAML),
                       success(Fixtures.plan + "\n"))
        XCTAssertEqual(daemon.requests, [applyRequest(Self.dryRunTarget)])
    }

    func testARefusedFileIsReportedAtItsLinesAndNotApplied() {
        daemon.answer("POST", Self.dryRunTarget, .json(400, """
            {"error":"4:10: bad VIP '10.0.0.300:80/tcp': bad IPv4 address '10.0.0.300': 300 is above 255\\n\
            9:18: weight: expected an integer"}
            """))
        XCTAssertEqual(lbctl("apply", "-f", file), failure(1, """
            lbctl: \(file!):4:10: bad VIP '10.0.0.300:80/tcp': bad IPv4 address '10.0.0.300': 300 is above 255
            lbctl: \(file!):9:18: weight: expected an integer

            """))
        XCTAssertEqual(lbctl("apply", "-f", "-", standardInput: "services: ["), failure(1, """
            lbctl: <stdin>:4:10: bad VIP '10.0.0.300:80/tcp': bad IPv4 address '10.0.0.300': 300 is above 255
            lbctl: <stdin>:9:18: weight: expected an integer

            """))
        daemon.answer("POST", Self.dryRunTarget, .json(400, #"{"error":"3 VIPs exceed limits.max_vips 2"}"#))
        XCTAssertEqual(lbctl("apply", "-f", file), failure(1, "lbctl: 3 VIPs exceed limits.max_vips 2\n"))
        XCTAssertEqual(daemon.requests.map(\.target), Array(repeating: Self.dryRunTarget, count: 3))
    }

    /// lbd could only say that "the body" is not text: lbctl names what it read, and sends nothing.
    func testTextThatIsNotUTF8IsRefusedBeforeSending() throws {
        let latin1 = try XCTUnwrap("services: [] # café\n".data(using: .isoLatin1))
        try latin1.write(to: URL(fileURLWithPath: file))
        XCTAssertEqual(lbctl("apply", "-f", file), failure(2, "lbctl: cannot read \(file!): not UTF-8 text\n"))
        let fromStandardInput = Lbctl.run(["apply", "-f", "-"], environment: ["LBD_SOCKET": daemon.path],
                                          standardInput: .bytes(Array(latin1)))
        XCTAssertEqual(fromStandardInput, failure(2, "lbctl: cannot read standard input: not UTF-8 text\n"))
        XCTAssertEqual(daemon.requests, [])
    }

    func testAFailedApplyKeepsThePlanOnStandardOutput() {
        daemon.answer("POST", Self.dryRunTarget, Self.plan(Fixtures.plan, applied: false))
        daemon.answer("POST", Self.applyTarget, .json(409, #"{"error":"VIP 10.0.0.10:80/tcp was removed meanwhile"}"#))
        XCTAssertEqual(lbctl("apply", "-f", file, "--yes"), LbctlResult(
            exitCode: 1, standardOutput: Fixtures.plan + "\n",
            standardError: "lbctl: VIP 10.0.0.10:80/tcp was removed meanwhile\n"))
    }

    func testExportPassesLbdsYAMLThrough() {
        daemon.answer("GET", "/v1/export", .text(200, contentType: "text/yaml", Fixtures.servicesYAML))
        XCTAssertEqual(lbctl("export"), success(Fixtures.servicesYAML))
        daemon.answer("GET", "/v1/export", .text(200, contentType: "text/yaml", "services: []"))
        XCTAssertEqual(lbctl("export"), success("services: []\n"))
        XCTAssertEqual(daemon.requests, Array(repeating: .init(method: "GET", target: "/v1/export", contentType: nil,
                                                              body: ""), count: 2))
    }
}
