/// Why the daemon did not start: one message for the log, and the exit status.
/// `exitStatus` 78 (EX_CONFIG) means an operator must act (invalid configuration or
/// state, pins of another layout): the unit's `RestartPreventExitStatus=78` stops
/// systemd from restarting into the same failure.
public struct StartupFailure: Error, CustomStringConvertible {
    public static let configurationStatus: Int32 = 78

    public let description: String
    public let exitStatus: Int32

    public init(_ description: String, exitStatus: Int32 = 1) {
        self.description = description
        self.exitStatus = exitStatus
    }

    static func configuration(_ description: String) -> StartupFailure {
        StartupFailure(description, exitStatus: configurationStatus)
    }
}
