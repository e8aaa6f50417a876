@testable import LbctlCore
import XCTest

/// `lbctl apply -f` (plan first, then apply) and `lbctl export`.
final class ApplyExportTests: LbctlTestCase {
    private var file: String!

    override func setUpWithError() throws {
        try super.setUpWithError()
        file = daemon.directory + "/services.yaml"
        try Fixtures.servicesYAML.write(toFile: file, atomically: true, encoding: .utf8)
    }

    private func applyRequest(dryRun: Bool) -> FakeDaemon.Request {
        .init(method: "POST", target: "/v1/apply?dry_run=\(dryRun ? 1 : 0)", contentType: "application/yaml",
              body: Fixtures.servicesYAML)
    }

    private static func plan(_ text: String, applied: Bool) -> FakeDaemon.Answer {
        let json = try! JSONEncoder().encode(["plan": text])
        return .json(200, String(decoding: json.dropLast(), as: UTF8.self) + #","applied":\#(applied)}"#)
    }

    func testDryRunPrintsThePlanAndChangesNothing() {
        daemon.answer("POST", "/v1/apply?dry_run=1", Self.plan(Fixtures.plan, applied: false))
        XCTAssertEqual(lbctl("apply", "-f", file, "--dry-run"), success(Fixtures.plan + "\n"))
        XCTAssertEqual(daemon.requests, [applyRequest(dryRun: true)])
    }

    func testApplyShowsThePlanThenApplies() {
        daemon.answer("POST", "/v1/apply?dry_run=1", Self.plan(Fixtures.plan, applied: false))
        daemon.answer("POST", "/v1/apply?dry_run=0", Self.plan(Fixtures.plan, applied: true))
        XCTAssertEqual(lbctl("apply", "--filename", file), success(Fixtures.plan + "\napplied\n"))
        XCTAssertEqual(daemon.requests, [applyRequest(dryRun: true), applyRequest(dryRun: false)])
    }

    func testApplyWithoutChangesSaysSoOnce() {
        // Whether lbd calls applying nothing "applied" or not.
        for applied in [false, true] {
            daemon.answer("POST", "/v1/apply?dry_run=1", Self.plan("no changes", applied: false))
            daemon.answer("POST", "/v1/apply?dry_run=0", Self.plan("no changes", applied: applied))
            XCTAssertEqual(lbctl("apply", "-f", file), success("no changes\n"))
        }
        XCTAssertEqual(daemon.requests.count, 4)
    }

    func testApplyShowsWhatWasAppliedWhenTheStateMovedInBetween() {
        let other = "- 10.0.0.99:80/tcp (0 backends)\n0 VIPs added, 1 removed, 0 changed"
        daemon.answer("POST", "/v1/apply?dry_run=1", Self.plan(Fixtures.plan, applied: false))
        daemon.answer("POST", "/v1/apply?dry_run=0", Self.plan(other, applied: true))
        XCTAssertEqual(lbctl("apply", "-f", file), success("""
            \(Fixtures.plan)
            the services changed since this plan; lbd applied instead:
            \(other)
            applied

            """))
    }

    func testApplyReadsStandardInput() {
        daemon.answer("POST", "/v1/apply?dry_run=1", Self.plan(Fixtures.plan, applied: false))
        XCTAssertEqual(lbctl("apply", "-f", "-", "--dry-run", standardInput: Fixtures.servicesYAML),
                       success(Fixtures.plan + "\n"))
        XCTAssertEqual(daemon.requests, [applyRequest(dryRun: true)])
    }

    func testARefusedFileIsReportedAtItsLinesAndNotApplied() {
        daemon.answer("POST", "/v1/apply?dry_run=1", .json(400, """
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
        daemon.answer("POST", "/v1/apply?dry_run=1", .json(400, #"{"error":"3 VIPs exceed limits.max_vips 2"}"#))
        XCTAssertEqual(lbctl("apply", "-f", file), failure(1, "lbctl: 3 VIPs exceed limits.max_vips 2\n"))
        XCTAssertEqual(daemon.requests.map(\.target), Array(repeating: "/v1/apply?dry_run=1", count: 3))
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
        daemon.answer("POST", "/v1/apply?dry_run=1", Self.plan(Fixtures.plan, applied: false))
        daemon.answer("POST", "/v1/apply?dry_run=0", .json(409, #"{"error":"VIP 10.0.0.10:80/tcp was removed meanwhile"}"#))
        XCTAssertEqual(lbctl("apply", "-f", file), LbctlResult(
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
