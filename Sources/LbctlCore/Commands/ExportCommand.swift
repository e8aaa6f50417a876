import ArgumentParser
import LBDAPI

/// `lbctl export`: the services as a file `apply -f` takes back.
struct ExportCommand: DaemonCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Print the current services as YAML, accepted by apply -f.")

    @OptionGroup var connection: ConnectionOptions

    func execute(in session: Session) throws(Failure) {
        session.passThrough(String(decoding: try session.call { try $0.call(LBDClient.exportRequest()) }, as: UTF8.self))
    }
}
