import Balancer
import Foundation
import HealthCheck
import LBDAPI

/// `lbctl backend drain VIP ADDRESS --wait`: after the drain, asks lbd's status until the
/// backend has no active flow in the VIP (connection entries whose client sent neither
/// FIN nor RST and that are within their idle timeout), or until the timeout.
struct DrainWait {
    /// How often lbd is asked: lbd counts the flows at most every 0.5 s, so "drained" is
    /// known within about a second of the last flow closing.
    static let pollInterval: Duration = .milliseconds(200)
    static let defaultTimeout: Duration = .seconds(600)

    let vip: VIPKey
    let address: IPAddress
    let timeout: Duration

    /// `--timeout`'s text: a duration such as 90s or 10m.
    static func timeout(_ text: String) throws(Failure) -> Duration {
        let duration: Duration
        do {
            duration = try DurationText.parse(text)
        } catch {
            throw .usage("--timeout: \(error.description)")
        }
        guard duration > .zero else { throw .usage("--timeout: bad duration '\(text)': expected more than 0") }
        return duration
    }

    /// The line to print once no active flow is left; `.timedOut` with what is left otherwise.
    /// Called once the drain is applied: only a count lbd took after that can say "none".
    func run(in session: Session) throws(Failure) -> String {
        let clock = ContinuousClock()
        let start = clock.now
        let drainedAt = Date()
        while true {
            let (left, countedAt) = try activeFlows(session)
            let waited = clock.now - start
            if left == 0 && countedAt >= drainedAt {
                return "no active flow left on \(address) in \(vip) after \(Self.text(waited))"
            }
            guard waited < timeout else {
                throw .timedOut("timed out after \(DurationText.format(timeout)): \(left) active "
                    + "flow\(left == 1 ? "" : "s") left on \(address) in \(vip)")
            }
            Thread.sleep(forTimeInterval: min(Self.pollInterval, timeout - waited) / .seconds(1))
        }
    }

    /// The backend's active flows in the VIP, and when lbd counted them.
    private func activeFlows(_ session: Session) throws(Failure) -> (Int, Date) {
        let status = try session.answer(StatusResponse.self, to: LBDClient.statusRequest()).value
        guard let service = status.services.first(where: { $0.vip == vip.description }),
              let backend = service.backends.first(where: { $0.address == address.description }) else {
            throw .daemon("\(vip) has no backend \(address) any more")
        }
        guard let flows = backend.activeFlows, let countedAt = status.flowsCountedDate else {
            throw .daemon("lbd does not report active flows (an older lbd?): cannot wait for the drain")
        }
        return (flows, countedAt)
    }

    private static func text(_ duration: Duration) -> String {
        String(format: "%.1fs", duration / .seconds(1))
    }
}
