import ArgumentParser
import LBDAPI

/// What `apply -f -` reads.
public enum StandardInput: Sendable {
    /// The process's standard input, read only by a command that asks for it.
    case process
    case bytes([UInt8])
}

/// What one invocation printed and how it ended.
public struct LbctlResult: Equatable, Sendable {
    public var exitCode: Int32
    public var standardOutput: String
    public var standardError: String
}

/// lbctl's entry point. The binary calls it with the process's arguments and streams,
/// the tests with their own: both get the same behaviour.
public enum Lbctl {
    /// How long lbd has to answer one request, connection included.
    public static let defaultTimeout = LBDClient.defaultTimeout

    /// Runs the command line `arguments` (without the program name) to completion.
    /// `environment` supplies `LBD_SOCKET`; `standardInput` feeds `apply -f -`.
    public static func run(_ arguments: [String], environment: [String: String],
                           standardInput: StandardInput = .process,
                           timeout: Duration = defaultTimeout) -> LbctlResult {
        var command: any ParsableCommand
        do {
            command = try RootCommand.parseAsRoot(arguments)
        } catch {
            return parserOutcome(error)
        }
        guard let daemonCommand = command as? any DaemonCommand else {
            // `lbctl help …`, or a group without its subcommand (`lbctl vip`): ArgumentParser's
            // own commands, whose run() shows help by throwing CleanExit.
            do {
                try command.run()
            } catch {
                return parserOutcome(error)
            }
            return LbctlResult(exitCode: 0, standardOutput: "", standardError: "")
        }
        let path = daemonCommand.connection.socketPath(environment: environment)
        let session = Session(api: LBDClient(socketPath: path, timeout: timeout), standardInput: standardInput)
        do {
            try daemonCommand.execute(in: session)
            return LbctlResult(exitCode: 0, standardOutput: session.output, standardError: "")
        } catch {
            return LbctlResult(exitCode: error.exitCode, standardOutput: session.output,
                               standardError: errorLines(error.message))
        }
    }

    /// Help, completion scripts and the like on standard output with exit 0; a command
    /// line ArgumentParser refused as a usage error (2), pointing at the command's help.
    private static func parserOutcome(_ error: any Error) -> LbctlResult {
        let fullMessage = RootCommand.fullMessage(for: error)
        guard RootCommand.exitCode(for: error) != .success else {
            return LbctlResult(exitCode: 0, standardOutput: fullMessage.hasSuffix("\n") ? fullMessage : fullMessage + "\n",
                               standardError: "")
        }
        var message = RootCommand.message(for: error)
        if let first = message.first { message.replaceSubrange(...message.startIndex, with: first.lowercased()) }
        if let help = helpCommand(in: fullMessage) { message += " (see '\(help)')" }
        return LbctlResult(exitCode: Failure.usage(message).exitCode, standardOutput: "", standardError: errorLines(message))
    }

    /// `lbctl backend set --help` from ArgumentParser's "See '…' for more information.".
    private static func helpCommand(in fullMessage: String) -> String? {
        guard let start = fullMessage.range(of: "See '"),
              let end = fullMessage.range(of: "' for more information", range: start.upperBound..<fullMessage.endIndex)
        else { return nil }
        return String(fullMessage[start.upperBound..<end.lowerBound])
    }

    /// Every line of `message` as `lbctl: line`, so each stands alone in a log.
    private static func errorLines(_ message: String) -> String {
        message.split(separator: "\n").map { "lbctl: \($0)\n" }.joined()
    }
}
