import ArgumentParser
import LBDAPI

/// `lbctl export`: the services as a file `apply -f` takes back.
struct ExportCommand: DaemonCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Print the current services as YAML, accepted by apply -f.")

    @OptionGroup var connection: ConnectionOptions

    func execute(in session: Session) throws(Failure) {
        let yaml = try session.call { api throws(LBDClientError) in try api.call(LBDClient.exportRequest()) }
        session.passThrough(String(decoding: yaml, as: UTF8.self))
    }
}
