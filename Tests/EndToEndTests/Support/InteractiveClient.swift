import Foundation
import XCTest

/// A scripts/topology/client.py command that answers one JSON line on stdout for every
/// line it reads on stdin (`session`, `stream`), kept running between the test's steps;
/// or any such command (`init(_:command:)`: the QUIC client and servers).
final class InteractiveClient {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()
    private var received = Data()

    convenience init(_ test: XCTestCase, _ topology: Topology, _ arguments: [String]) throws {
        try self.init(test, command: topology.clientCommand(arguments))
    }

    init(_ test: XCTestCase, command: (executable: String, arguments: [String])) throws {
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        test.addTeardownBlock { [process] in
            if process.isRunning { process.terminate() }
        }
    }

    /// Sends a line (empty, or a command the client knows); the line it answers with.
    func ask(_ line: String = "") throws -> String {
        input.fileHandleForWriting.write(Data((line + "\n").utf8))
        return try readLine()
    }

    /// The next line it writes, without sending one (what it prints as it starts).
    func next() throws -> String {
        try readLine()
    }

    /// Closes the client's stdin and waits for its exit; the lines it wrote meanwhile.
    func finish() throws -> [String] {
        try input.fileHandleForWriting.close()
        received += output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ended() }
        return String(decoding: received, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    private func readLine() throws -> String {
        while true {
            if let newline = received.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: received[..<newline], as: UTF8.self)
                received.removeSubrange(...newline)
                return line
            }
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw ended() }
            received.append(chunk)
        }
    }

    private func ended() -> EndToEndFailure {
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return EndToEndFailure("client \(process.arguments ?? []) exited \(process.terminationStatus): \(stderr)")
    }
}
