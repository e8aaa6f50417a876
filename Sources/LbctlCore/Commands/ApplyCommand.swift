import ArgumentParser
import Balancer
import LBDAPI

/// `lbctl apply -f FILE`: replace the services declaratively, showing the plan first.
struct ApplyCommand: DaemonCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply", abstract: "Make lbd's services exactly those of a file; print the plan, then apply it.",
        discussion: """
            The file has the form of export's output ('services: [...]'); 'services: []' removes every VIP. \
            lbd validates it as a whole and applies all of it or nothing. The plan lists VIPs and backends \
            added (+), removed (-) and changed (~). --dry-run prints the plan only, and exits 0 whether \
            or not there are changes.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(name: [.short, .customLong("filename")],
            help: ArgumentHelp("The services file; - reads standard input.", valueName: "file"),
            completion: .file(extensions: ["yaml", "yml"]))
    var file: String

    @Flag(name: .customLong("dry-run"), help: "Print the plan without applying it.")
    var dryRun = false

    @Flag(help: "Accept new VIPs on the addresses of lbd's own host (they take the host's own traffic to their ports).")
    var force = false

    /// Balancer's text for a plan without changes.
    private static let noChanges = DesiredState().plan(to: DesiredState()).description

    func execute(in session: Session) throws(Failure) {
        let yaml = file == "-" ? try session.readStandardInput() : try FileReader.contents(of: file)
        // Checked here because lbd, which never sees the file's name, can only say that
        // "the body" is not text.
        guard String(validating: yaml, as: UTF8.self) != nil else {
            throw .usage("cannot read \(file == "-" ? "standard input" : file): not UTF-8 text")
        }
        let plan = try apply(yaml, dryRun: true, session: session)
        session.print(plan.plan)
        guard !dryRun else { return }
        let result = try apply(yaml, dryRun: false, session: session)
        if result.plan != plan.plan {
            session.print("the services changed since this plan; lbd applied instead:")
            session.print(result.plan)
        }
        // "no changes" is already on screen as the plan; lbd may still call that applied.
        guard result.plan != Self.noChanges else { return }
        session.print(result.applied ? "applied" : "no changes")
    }

    /// lbd's answer, its complaints about the file prefixed with the file's name as
    /// `FILE:LINE:COL: message`, which editors and CI logs link to.
    private func apply(_ yaml: [UInt8], dryRun: Bool, session: Session) throws(Failure) -> ApplyResponse {
        do {
            return try session.api.apply(yaml: yaml, dryRun: dryRun, force: force)
        } catch .refused(_, let message) {
            let name = file == "-" ? "<stdin>" : file
            throw .daemon(message.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                Self.startsWithPosition(line) ? "\(name):\(line)" : String(line)
            }.joined(separator: "\n"))
        } catch {
            throw Failure(error)
        }
    }

    /// `LINE:COL: ` as Balancer's `ConfigError` starts.
    private static func startsWithPosition(_ line: Substring) -> Bool {
        let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        return parts.count == 3 && parts[2].hasPrefix(" ")
            && parts[0...1].allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }
}
