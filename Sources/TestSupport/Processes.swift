import Foundation

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

    /// The status first and the streams it did not print left out: how a test writes what
    /// it expects.
    public init(status: Int32, stdout: String = "", stderr: String = "") {
        self.init(stdout: stdout, stderr: stderr, status: status)
    }
}

/// Runs `executable` with `arguments` to completion. `input`: its standard input (else it
/// inherits ours); `environment`: its whole environment (else ours).
public func runProcess(_ executable: String, _ arguments: [String], input: String? = nil,
                       environment: [String: String]? = nil) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe(), stdin = Pipe()
    process.standardOutput = out
    process.standardError = err
    if input != nil { process.standardInput = stdin }
    try process.run()
    if let input {
        // Written while the output is read: a child that answers before it has read all
        // of a long input would otherwise block both.
        DispatchQueue.global().async {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
    }
    // Read both pipes before waiting: a full pipe would block the child.
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessOutput(stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self),
                         status: process.terminationStatus)
}

/// Runs a command (found on PATH; `VAR=value` words first set its environment) to
/// completion: its stdout, or `CommandFailed` with its stderr.
@discardableResult
public func shell(_ arguments: String...) throws -> String {
    try shell(arguments)
}

@discardableResult
public func shell(_ arguments: [String]) throws -> String {
    let output = try runProcess("/usr/bin/env", arguments)
    guard output.status == 0 else {
        throw CommandFailed(command: arguments, output: output)
    }
    return output.stdout
}

/// A command that exited with another status than 0.
public struct CommandFailed: Error, CustomStringConvertible {
    public let command: [String]
    public let output: ProcessOutput

    public var description: String {
        "\(command.joined(separator: " ")) failed (\(output.status)): \(output.stderr)"
    }
}

/// Starts `command` (its first word found on PATH unless a path) with its stdout and
/// stderr in `log`, which it starts afresh; `environment`: its whole environment (else ours).
public func startLogged(_ command: [String], log: String, environment: [String: String]? = nil) throws -> Process {
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = command
    if let environment { process.environment = environment }
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    return process
}
