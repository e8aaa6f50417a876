@testable import LbctlCore
import XCTest

/// A test with a fake lbd on a fresh socket, and lbctl run in process against it.
class LbctlTestCase: XCTestCase {
    private(set) var daemon: FakeDaemon!

    override func setUpWithError() throws {
        daemon = try FakeDaemon()
    }

    override func tearDown() {
        daemon.stop()
    }

    /// Runs `arguments` with `LBD_SOCKET` naming the fake lbd.
    func lbctl(_ arguments: String..., standardInput: String = "", timeout: Duration = .seconds(5)) -> LbctlResult {
        lbctl(arguments, standardInput: standardInput, timeout: timeout)
    }

    func lbctl(_ arguments: [String], standardInput: String = "", timeout: Duration = .seconds(5)) -> LbctlResult {
        Lbctl.run(arguments, environment: ["LBD_SOCKET": daemon.path],
                  standardInput: .bytes(Array(standardInput.utf8)), timeout: timeout)
    }

    /// A successful result with this output.
    func success(_ output: String) -> LbctlResult {
        LbctlResult(exitCode: 0, standardOutput: output, standardError: "")
    }

    /// A failed result with this exit code and error line, and no output.
    func failure(_ exitCode: Int32, _ error: String) -> LbctlResult {
        LbctlResult(exitCode: exitCode, standardOutput: "", standardError: error)
    }
}
