import ArgumentParser
import Balancer
import LBDAPI

/// A command that talks to lbd. `Lbctl.run` calls `execute(in:)` rather than
/// ArgumentParser's `run()`, handing it the session: the same commands then run in the
/// binary and, against a fake lbd, in the tests.
protocol DaemonCommand: ParsableCommand {
    var connection: ConnectionOptions { get }

    /// Checks the arguments (throwing `Failure.usage` before anything is sent), calls
    /// lbd, and prints the result.
    func execute(in session: Session) throws(Failure)
}

/// Where lbd listens. Every command accepts `--socket`, before or after its name.
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("lbd's API socket (default: $LBD_SOCKET, else \(Configuration.defaultAPISocket)).",
                               valueName: "path"),
            completion: .file())
    var socket: String?

    /// `--socket`, else `LBD_SOCKET` when set and not empty, else lbd's default.
    func socketPath(environment: [String: String]) -> String {
        socket ?? environment["LBD_SOCKET"].flatMap { $0.isEmpty ? nil : $0 } ?? Configuration.defaultAPISocket
    }
}

/// One invocation's surroundings: lbd's API, standard input (`apply -f -`), and the
/// output, collected so that `Lbctl.run` can return it.
final class Session {
    let api: LBDClient
    private let standardInput: StandardInput
    private(set) var output = ""

    init(api: LBDClient, standardInput: StandardInput) {
        self.api = api
        self.standardInput = standardInput
    }

    /// One call to lbd, its errors as lbctl's failures (the client throws only
    /// `LBDClientError`; a closure's error type is not inferred).
    func call<T>(_ body: (LBDClient) throws -> T) throws(Failure) -> T {
        do {
            return try body(api)
        } catch {
            throw Failure(error as? LBDClientError ?? .unreadable("\(error)"))
        }
    }

    func readStandardInput() throws(Failure) -> [UInt8] {
        switch standardInput {
        case .process: try FileReader.standardInput()
        case .bytes(let bytes): bytes
        }
    }

    /// `text` and a newline.
    func print(_ text: String) {
        output += text + "\n"
    }

    /// `text` as it is, then a newline if it has none: passthrough output (YAML) stays
    /// byte for byte while the shell prompt still starts on its own line.
    func passThrough(_ text: String) {
        output += text
        if !text.isEmpty, !text.hasSuffix("\n") { output += "\n" }
    }
}
