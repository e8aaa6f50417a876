import Foundation

/// Throws unless this process runs as root: a privileged test or benchmark fails (never
/// skips) and says what needs root.
public func requireRoot(_ what: String = "this test (BPF programs, network namespaces)") throws {
    guard geteuid() == 0 else { throw RootRequired(description: "\(what) must run as root") }
}

public struct RootRequired: Error, CustomStringConvertible {
    public let description: String
}
