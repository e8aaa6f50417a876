import Foundation

/// The `lbd` executable built next to the test bundle (`swift build --build-tests` builds
/// every product into the same directory).
public enum LBDBinary {
    public static var path: String {
        get throws { try builtProduct("lbd") }
    }
}

/// The `lbctl` executable, built next to lbd.
public enum LbctlBinary {
    public static var path: String {
        get throws { try builtProduct("lbctl") }
    }
}

/// `name` in the directory of the test bundle (or of the test runner).
private func builtProduct(_ name: String) throws -> String {
    let candidates = [Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        .map { $0.appendingPathComponent(name).path }
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw MissingTool("\(name) is not built next to the tests (looked at \(candidates)); run swift build --build-tests")
    }
    return found
}

/// A tool the tests need is missing: the test fails (never skips) and says which.
public struct MissingTool: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What a finished process printed and how it ended.
public struct ProcessOutput: Equatable, Sendable {
    public var stdout: String
    public var stderr: String
    public var status: Int32

    public init(stdout: String, stderr: String, status: Int32) {
        self.stdout = stdout
        self.stderr = stderr
        self.status = status
    }
}

/// Runs `executable` with `arguments` to completion.
public func runProcess(_ executable: String, _ arguments: [String]) throws -> ProcessOutput {
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
