import Foundation

/// The `lbd` executable built next to the test bundle or the benchmark (`swift build
/// --build-tests` builds every product into the same directory).
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

/// `name` in the directory of the test bundle, of the test runner or of the benchmark.
public func builtProduct(_ name: String) throws -> String {
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
