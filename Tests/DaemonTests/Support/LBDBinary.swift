import Foundation
import XCTest

/// The `lbd` executable built next to the test bundle (`swift build --build-tests` builds
/// every product into the same directory).
enum LBDBinary {
    static var path: String {
        get throws {
            let candidates = [Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
                .map { $0.appendingPathComponent("lbd").path }
            guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                throw MissingTool("lbd is not built next to the tests (looked at \(candidates)); run swift build --build-tests")
            }
            return found
        }
    }
}

/// The `lbctl` executable, built next to lbd.
enum LbctlBinary {
    static var path: String {
        get throws {
            let path = (try LBDBinary.path as NSString).deletingLastPathComponent + "/lbctl"
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw MissingTool("lbctl is not built next to lbd (\(path)); run swift build --build-tests")
            }
            return path
        }
    }
}

/// A tool the tests need is missing: the test fails (never skips) and says which.
struct MissingTool: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What a finished process printed and how it ended.
struct ProcessOutput: Equatable {
    var stdout: String
    var stderr: String
    var status: Int32
}

/// Runs `executable` with `arguments` to completion.
func runProcess(_ executable: String, _ arguments: [String]) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes before waiting: a full pipe would block the child.
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessOutput(stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self),
                         status: process.terminationStatus)
}

/// A directory under /tmp removed at the end of the test.
func temporaryDirectory(_ test: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "lbd-test-\(getpid())-\(UInt32.random(in: 0 ... .max))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}
