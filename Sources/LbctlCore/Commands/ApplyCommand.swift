import ArgumentParser
import Balancer
import LBDAPI

/// `lbctl apply -f FILE`: make the services those of a file, showing the plan first and
/// applying it only if confirmed and still current.
struct ApplyCommand: DaemonCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply", abstract: "Make lbd's services those of a file: print the plan, confirm, apply it.",
        discussion: """
            The file has the form of export's output ('services: [...]'). lbd validates it as a whole \
            and applies all of it or nothing. The plan lists VIPs and backends added (+), removed (-) \
            and changed (~). VIPs lbd has and the file does not are kept unless --prune is given \
            (then 'services: []' removes every VIP).

            On a terminal, lbctl asks before applying; --yes applies without asking, and without a \
            terminal (a script, -f -) --yes is required: otherwise nothing is applied, exit 6. The \
            apply is refused, exit 5, when the services changed after the plan was made (another \
            operator's edit): nothing is applied; run apply again to see the new plan.

            --dry-run prints the plan only; with --exit-code it exits 2 when the plan has changes, \
            0 when it has none (for CI, as terraform plan -detailed-exitcode).
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    @Option(name: [.short, .customLong("filename")],
            help: ArgumentHelp("The services file; - reads standard input.", valueName: "file"),
            completion: .file(extensions: ["yaml", "yml"]))
    var file: String

    @Flag(name: .customLong("dry-run"), help: "Print the plan without applying it.")
    var dryRun = false

    @Flag(name: .customLong("exit-code"), help: "With --dry-run: exit 2 when the plan has changes, 0 when none.")
    var exitCode = false

    @Flag(name: [.short, .long], help: "Apply without asking for confirmation.")
    var yes = false

    @Flag(help: "Remove the VIPs lbd has that the file does not.")
    var prune = false

    @Flag(help: "Accept new VIPs on the addresses of lbd's own host (they take the host's own traffic to their ports).")
    var force = false

    /// Balancer's text for a plan without changes: what an lbd without the plan's lists says.
    private static let noChanges = DesiredState().plan(to: DesiredState()).description

    func validate() throws {
        if exitCode, !dryRun { throw ValidationError("--exit-code applies to --dry-run only") }
    }

    func execute(in session: Session) throws(Failure) {
        let yaml = file == "-" ? try session.readStandardInput() : try FileReader.contents(of: file)
        // Checked here because lbd, which never sees the file's name, can only say that
        // "the body" is not text.
        guard String(validating: yaml, as: UTF8.self) != nil else {
            throw .usage("cannot read \(file == "-" ? "standard input" : file): not UTF-8 text")
        }
        let (plan, planBody) = try apply(yaml, dryRun: true, session: session)
        let hasChanges = Self.hasChanges(plan)
        if !output.json { session.print(Self.describe(plan)) }
        guard !dryRun, hasChanges else {
            if output.json { session.printJSON(planBody) }
            if dryRun, exitCode, hasChanges { throw .planHasChanges }
            return
        }
        if !yes { try confirm(plan, in: session) }
        let (_, appliedBody) = try apply(yaml, dryRun: false, ifVersion: plan.version, session: session)
        if output.json {
            session.printJSON(appliedBody)
        } else {
            session.print("applied")
        }
    }

    /// Whether the plan adds, removes or changes a VIP: by its lists, else (an older lbd) its text.
    private static func hasChanges(_ plan: ApplyResponse) -> Bool {
        guard let added = plan.added, let removed = plan.removed, let changed = plan.changed else {
            return plan.plan != noChanges
        }
        return !(added.isEmpty && removed.isEmpty && changed.isEmpty)
    }

    /// The plan, and how many VIPs not in the file it keeps.
    private static func describe(_ plan: ApplyResponse) -> String {
        let kept = plan.kept?.count ?? 0
        guard kept > 0 else { return plan.plan }
        let (noun, pronoun) = kept == 1 ? ("VIP", "it") : ("VIPs", "them")
        return plan.plan + "\n\(kept) \(noun) not in the file kept (--prune removes \(pronoun))"
    }

    /// Asks the operator on the terminal; throws unless the answer is yes.
    private func confirm(_ plan: ApplyResponse, in session: Session) throws(Failure) {
        // Standard input is the file with -f -: there is no answer to read there.
        guard file != "-", session.standardInputIsTerminal else {
            throw .notConfirmed("not applied: standard input is not a terminal to confirm on; "
                + "check the plan (--dry-run) and apply with --yes")
        }
        // With --json the plan is not on standard output yet: show it with the question.
        let question = (output.json ? Self.describe(plan) + "\n" : "") + "Apply these changes? [y/N] "
        guard session.confirm(question) else { throw .notConfirmed("not applied: not confirmed") }
    }

    /// lbd's answer, its complaints about the file prefixed with the file's name as
    /// `FILE:LINE:COL: message`, which editors and CI logs link to.
    private func apply(_ yaml: [UInt8], dryRun: Bool, ifVersion: String? = nil,
                       session: Session) throws(Failure) -> (value: ApplyResponse, body: [UInt8]) {
        do {
            let options = LBDClient.ApplyOptions(dryRun: dryRun, force: force, prune: prune, ifVersion: ifVersion)
            return try session.answer(ApplyResponse.self, to: LBDClient.applyRequest(yaml: yaml, options))
        } catch .daemon(let message) {
            let name = file == "-" ? "<stdin>" : file
            throw .daemon(message.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                Self.startsWithPosition(line) ? "\(name):\(line)" : String(line)
            }.joined(separator: "\n"))
        }
    }

    /// `LINE:COL: ` as Balancer's `ConfigError` starts.
    private static func startsWithPosition(_ line: Substring) -> Bool {
        let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        return parts.count == 3 && parts[2].hasPrefix(" ")
            && parts[0...1].allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }
}
