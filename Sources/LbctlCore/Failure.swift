import LBDAPI

/// Why a command did not succeed, sorted by what the operator (or a script) should do
/// about it: each case has its own exit code, documented in `lbctl --help`.
enum Failure: Error, Equatable, Sendable {
    /// lbd answered and refused the request, or answered something lbctl cannot read:
    /// the message is lbd's own text when it sent one. Exit 1.
    case daemon(String)
    /// The command line is wrong; nothing was sent. Exit 2.
    case usage(String)
    /// lbd could not be reached, or did not answer in time: retrying may help. Exit 3.
    case unreachable(String)

    var exitCode: Int32 {
        switch self {
        case .daemon: 1
        case .usage: 2
        case .unreachable: 3
        }
    }

    /// The reason, possibly several lines (a file refused by lbd lists every problem).
    var message: String {
        switch self {
        case .daemon(let message), .usage(let message), .unreachable(let message): message
        }
    }
}

extension Failure {
    /// The client's error as the operator's: lbd refused or sent something unreadable (1),
    /// the socket path is not one (2), lbd is out of reach (3).
    init(_ error: LBDClientError) {
        switch error {
        case .refused(_, let message), .unreadable(let message): self = .daemon(message)
        case .badSocketPath(let message): self = .usage(message)
        case .unreachable(let message): self = .unreachable(message)
        }
    }
}
