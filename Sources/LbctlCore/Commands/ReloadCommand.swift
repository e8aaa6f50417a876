import ArgumentParser
import LBDAPI

/// `lbctl reload`: lbd re-reads its configuration file and applies its settings; the exit
/// status says whether it did (what `systemctl reload lbd` runs, through `lbd reload`).
struct ReloadCommand: DaemonCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload", abstract: "Make lbd re-read its configuration file, and report what changed.",
        discussion: """
            Applies gateway_mac, mtu, encap_source_v4/v6 and udp_idle_timeout. Keys only a restart \
            applies, and seed services that differ from the running ones (use apply), are reported. \
            A file lbd refuses changes nothing: exit 1 with lbd's reason. SIGHUP to lbd reloads too, \
            reporting only to lbd's log.
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func execute(in session: Session) throws(Failure) {
        let (outcome, body) = try session.answer(ReloadResponse.self, to: LBDClient.reloadRequest())
        guard !output.json else { return session.printJSON(body) }
        session.print(outcome.changed.isEmpty ? "reloaded: nothing changed" : "reloaded: " + outcome.changed.joined(separator: "; "))
        for note in outcome.notes { session.print("note: " + note) }
    }
}
