import Foundation
import TestSupport
import XCTest

/// lbd stopped (SIGTERM) or killed (SIGKILL) and started again while a client opens
/// connections back to back: forwarding never depends on the process, so not one
/// connection fails or is reset, and the restarted lbd adopts the running datapath.
final class RestartTests: XCTestCase {
    func testConnectionsNeverFailWhileLbdIsStoppedKilledAndRestarted() async throws {
        let topology = try Topology(self, backends: 2)
        let vip = try topology.value("VIP4")
        let service = Service(vip, port: try topology.httpPort, "tcp",
                              backends: [(try topology.backendAddress(1, .v4), 100), (try topology.backendAddress(2, .v4), 100)])
        let lbd = try await LBD(self, on: topology, services: [service])
        let stream = try InteractiveClient(self, topology, ["stream", topology.url(vip)])
        var answered = try waitForAnswers(stream, atLeast: 50)

        for signal in [SIGTERM, SIGKILL] {
            let exit = try await lbd.stop(signal)
            XCTAssertEqual(exit, signal == SIGTERM ? 0 : SIGKILL, "lbd's exit on signal \(signal)")
            answered = try waitForAnswers(stream, atLeast: answered + 100)  // while no lbd runs
            try await lbd.start()
            XCTAssertTrue(try lbd.status().datapath.adopted, "the lbd started after signal \(signal) adopted the datapath")
            answered = try waitForAnswers(stream, atLeast: answered + 100)
        }
        let total = try Tally.decode(XCTUnwrap(stream.finish().last))
        XCTAssertEqual(total.errors, [:], "zero failed connections, zero resets")
        XCTAssertEqual(Set(total.answers.keys), [topology.backendName(1), topology.backendName(2)])
        XCTAssertGreaterThanOrEqual(total.answers.values.reduce(0, +), answered)
    }

    /// Asks the stream for its totals until at least `count` connections were answered;
    /// returns how many were. Bounded: every connection ends within the client's timeout.
    private func waitForAnswers(_ stream: InteractiveClient, atLeast count: Int) throws -> Int {
        var answered = 0
        try waitForBlocking("\(count) connections answered", within: .seconds(30), every: .milliseconds(10)) {
            answered = try Tally.decode(stream.ask()).answers.values.reduce(0, +)
            return answered >= count
        }
        return answered
    }
}
