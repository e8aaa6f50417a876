import ArgumentParser
import Balancer
import Foundation
import Glibc
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

/// `--json`, on every command that prints something.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print lbd's JSON answer, keys sorted, instead of text.")
    var json = false
}

/// One invocation's surroundings: lbd's API, standard input (`apply -f -`, `apply`'s
/// confirmation), and the output, collected so that `Lbctl.run` can return it.
final class Session {
    let api: LBDClient
    private let standardInput: StandardInput
    private(set) var output = ""

    init(api: LBDClient, standardInput: StandardInput) {
        self.api = api
        self.standardInput = standardInput
    }

    /// Whether standard input is a terminal an operator can answer a question on.
    var standardInputIsTerminal: Bool {
        switch standardInput {
        case .process: isatty(STDIN_FILENO) == 1
        case .bytes: false
        }
    }

    /// Asks `question` on standard error, after writing out what was printed so far (the
    /// operator reads it first), and reads the answer from the terminal: true for y or yes.
    func confirm(_ question: String) -> Bool {
        guard case .process = standardInput else { return false }
        FileHandle.standardOutput.write(Data(output.utf8))
        output = ""
        FileHandle.standardError.write(Data(question.utf8))
        let word = FileReader.standardInputLine().trimmingCharacters(in: .whitespaces).lowercased()
        return word == "y" || word == "yes"
    }

    /// One call to lbd, its errors as lbctl's failures. Swift does not infer a closure's
    /// thrown type: `body` spells it (`{ api throws(LBDClientError) in … }`).
    func call<T>(_ body: (LBDClient) throws(LBDClientError) -> T) throws(Failure) -> T {
        do {
            return try body(api)
        } catch {
            throw Failure(error)
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

    /// lbd's JSON answer as it sent it, for `--json` (lbd indents it, keys sorted).
    func printJSON(_ body: [UInt8]) {
        passThrough(String(decoding: body, as: UTF8.self))
    }

    /// lbd's answer to `request` as `type`, and as it sent it (for `--json`).
    func answer<T: Decodable>(_ type: T.Type, to request: HTTPRequest) throws(Failure) -> (value: T, body: [UInt8]) {
        try call { api throws(LBDClientError) in try api.answer(type, to: request) }
    }

    /// Sends an edit and reports it: lbd's answer with `--json`; else `done` when the edit
    /// changed the state, `unchanged: <unchanged>` when it already was so (a retry).
    func edit(_ request: EditRequest, output options: OutputOptions, done: String, unchanged: String) throws(Failure) {
        let (response, body) = try answer(EditResponse.self, to: LBDClient.editRequest(request))
        if options.json {
            printJSON(body)
        } else {
            print(response.changed == false ? "unchanged: " + unchanged : done)
        }
    }

    /// `text` as it is, then a newline if it has none: passthrough output (YAML) stays
    /// byte for byte while the shell prompt still starts on its own line.
    func passThrough(_ text: String) {
        output += text
        if !text.isEmpty, !text.hasSuffix("\n") { output += "\n" }
    }
}
