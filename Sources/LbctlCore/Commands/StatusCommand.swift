import ArgumentParser
import Balancer
import LBDAPI

/// `lbctl status`: what lbd does now, VIP by VIP.
struct StatusCommand: DaemonCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show every VIP (or one) and its backends: weight, health, drained, ring share, counters.",
        discussion: """
            UP counts the backends not failing their health check (unchecked ones count as up). \
            SHARE is the backend's part of the VIP's ring: the new flows it gets. FLOWS are the \
            VIP's active flows on the backend (connection entries whose client sent neither FIN \
            nor RST, within their idle timeout). A backend's counters add up every VIP it serves. BYTES are in binary units; --json has the \
            exact counters.
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: ArgumentHelp("Only this VIP, address:port/proto (lbd refuses one it does not have).", valueName: "vip"))
    var vip: String?

    func execute(in session: Session) throws(Failure) {
        let vip = try vip.map { text throws(Failure) in try ArgumentValues.vip(text) }
        let (status, body) = try session.answer(StatusResponse.self, to: LBDClient.statusRequest(vip: vip?.description))
        if output.json {
            session.printJSON(body)
        } else {
            session.print(StatusView.render(status))
        }
    }
}
