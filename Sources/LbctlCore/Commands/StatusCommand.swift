import ArgumentParser
import LBDAPI

/// `lbctl status`: what lbd does now, VIP by VIP.
struct StatusCommand: DaemonCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show every VIP and its backends: weight, health, drained, ring share, counters.",
        discussion: """
            UP counts the backends not failing their health check (unchecked ones count as up). \
            SHARE is the backend's part of the VIP's ring: the new flows it gets. A backend's \
            counters add up every VIP it serves. BYTES are in binary units; --json has the \
            exact counters.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Flag(help: "Print lbd's JSON (GET /v1/status), keys sorted.")
    var json = false

    func execute(in session: Session) throws(Failure) {
        let body = try session.call { try $0.call(.get("/v1/status")) }
        let status = try session.call { _ in try LBDClient.decode(StatusResponse.self, from: body, endpoint: "/v1/status") }
        if json {
            // lbd writes its answers indented with sorted keys: what scripts get, byte for byte.
            session.passThrough(String(decoding: body, as: UTF8.self))
        } else {
            session.print(StatusView.render(status))
        }
    }
}
