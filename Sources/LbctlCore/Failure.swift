import LBDAPI

/// Why a command did not succeed, sorted by what the operator (or a script) should do
/// about it: each case has its own exit code, documented in `lbctl --help`.
enum Failure: Error, Equatable, Sendable {
    /// lbd answered and refused the request, or answered something lbctl cannot read:
    /// the message is lbd's own text when it sent one. Exit 1.
    case daemon(String)
    /// The command line is wrong; nothing was sent. Exit 2.
    case usage(String)
    /// `apply --dry-run --exit-code`: the plan has changes (already printed). Exit 2, as
    /// `terraform plan -detailed-exitcode`.
    case planHasChanges
    /// lbd could not be reached, or did not answer in time: retrying may help. Exit 3.
    case unreachable(String)
    /// lbd saved the change but a datapath write failed; lbd retries it: repeating the
    /// request is not needed. Exit 4.
    case datapathPending(String)
    /// `apply`: the services changed since the plan was made; nothing applied. Exit 5.
    case stateChanged(String)
    /// `apply`: not confirmed (declined, or no terminal to ask on and no --yes); nothing
    /// applied. Exit 6.
    case notConfirmed(String)
    /// A wait (`backend drain --wait`) ran out of time; the message says what is left. Exit 7.
    case timedOut(String)

    var exitCode: Int32 {
        switch self {
        case .daemon: 1
        case .usage, .planHasChanges: 2
        case .unreachable: 3
        case .datapathPending: 4
        case .stateChanged: 5
        case .notConfirmed: 6
        case .timedOut: 7
        }
    }

    /// The reason, possibly several lines (a file refused by lbd lists every problem).
    var message: String {
        switch self {
        case .daemon(let message), .usage(let message), .unreachable(let message), .datapathPending(let message),
             .stateChanged(let message), .notConfirmed(let message), .timedOut(let message): message
        case .planHasChanges: ""
        }
    }
}

extension Failure {
    /// The client's error as the operator's: lbd refused or sent something unreadable (1),
    /// the socket path is not one (2), lbd is out of reach (3), saved but the datapath
    /// write is retried (4), an apply's plan is out of date (5).
    init(_ error: LBDClientError) {
        switch error {
        case .refused(_, let message), .unreadable(let message): self = .daemon(message)
        case .badSocketPath(let message): self = .usage(message)
        case .unreachable(let message): self = .unreachable(message)
        case .datapathPending(let message): self = .datapathPending(message)
        case .stateChanged(let message): self = .stateChanged(message)
        }
    }
}
