@testable import Announce
import Balancer
import Foundation
import Logging
import TestSupport
import XCTest

/// The announcer against real BIRDs: the node's, which includes the routes file, and the
/// router's, whose kernel table gains and loses the VIP /32 and /128.
final class BirdPeeringTests: XCTestCase {
    let v4 = try! IPAddress("10.0.0.10")
    let v6 = try! IPAddress("2001:db8::10")

    /// What the test says can serve, read by the announcer.
    final class Servable: @unchecked Sendable {
        private let lock = NSLock()
        private var value: [IPAddress: Bool]
        init(_ value: [IPAddress: Bool]) { self.value = value }
        var current: [IPAddress: Bool] {
            get { lock.withLock { value } }
            set { lock.withLock { value = newValue } }
        }
    }

    func announcer(_ pair: BirdPair, _ servable: Servable, drainTime: Duration = .seconds(1),
                   graceful: Bool = true) -> Announcer {
        var settings = AnnounceSettings()
        settings.birdSocket = pair.nodeSocket
        settings.routesFile = pair.routesFile
        settings.announceDelay = .zero
        settings.drainTime = drainTime
        settings.gracefulShutdown = graceful
        return Announcer(settings: settings, drainMarker: pair.directory + "/node-drained",
                         logger: Logger(label: "test.announce")) { servable.current }
    }

    func testTheRouterGainsAndLosesTheRoutesOfWhatCanServe() async throws {
        let pair = try BirdPair(self)
        let servable = Servable([v4: true, v6: true])
        let announcer = announcer(pair, servable)
        await announcer.refresh()
        try await pair.waitForRouterRoutes(["10.0.0.10/32", "2001:db8::10/128"])

        servable.current = [v4: false, v6: true]
        await announcer.refresh()
        try await pair.waitForRouterRoutes(["2001:db8::10/128"])
        let report = await announcer.report()
        XCTAssertEqual(report.routes[v4]?.announced, false)
        XCTAssertEqual(report.routes[v4]?.reason, AnnouncementPolicy.Reason.cannotServe.description)
        XCTAssertNil(report.birdError)

        servable.current = [v4: true]
        await announcer.refresh()
        try await pair.waitForRouterRoutes(["10.0.0.10/32"])
    }

    /// BIRD restarted reads the file; a restarted lbd writes the same bytes; a killed lbd
    /// (an announcer that never stops) leaves the routes where they are.
    func testEitherDaemonRestartingKeepsTheRoutes() async throws {
        let pair = try BirdPair(self)
        let servable = Servable([v4: true, v6: true])
        await announcer(pair, servable).refresh()
        try await pair.waitForRouterRoutes(["10.0.0.10/32", "2001:db8::10/128"])
        let written = try Data(contentsOf: URL(fileURLWithPath: pair.routesFile))

        try pair.killBird(.node)
        try await pair.waitForRouterRoutes([])  // the router's hold timer
        try pair.startBird(.node)
        try await pair.waitForRouterRoutes(["10.0.0.10/32", "2001:db8::10/128"])

        let restarted = announcer(pair, servable)
        await restarted.refresh()
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: pair.routesFile)), written)
        let report = await restarted.report()
        XCTAssertNil(report.birdError)
        XCTAssertEqual(try pair.routerKernelRoutes(), ["10.0.0.10/32", "2001:db8::10/128"])
    }

    func testBirdDownIsReportedAndTheFileIsReadWhenItStarts() async throws {
        let pair = try BirdPair(self)
        try pair.killBird(.node)
        let announcer = announcer(pair, Servable([v4: true]))
        await announcer.refresh()
        let error = await announcer.report().birdError
        XCTAssertEqual(error, "BIRD unreachable at \(pair.nodeSocket): No such file or directory")
        try pair.startBird(.node)
        try await pair.waitForRouterRoutes(["10.0.0.10/32"])
        await announcer.refresh()
        let cleared = await announcer.report().birdError
        XCTAssertNil(cleared)
    }

    /// A stop: tagged GRACEFUL_SHUTDOWN at the router, then withdrawn, then done.
    func testStopTagsThenWithdraws() async throws {
        let pair = try BirdPair(self)
        let announcer = announcer(pair, Servable([v4: true]), drainTime: .seconds(3))
        await announcer.refresh()
        try await pair.waitForRouterRoutes(["10.0.0.10/32"])
        let stopping = Task { await announcer.stop() }
        try await waitFor("the router seeing GRACEFUL_SHUTDOWN while the node drains", within: .seconds(3),
                          every: .milliseconds(100)) {
            try pair.routerRoute("10.0.0.10/32").contains("(65535,0)")
        }
        XCTAssertEqual(try pair.routerKernelRoutes(), ["10.0.0.10/32"], "still announced while draining")
        await stopping.value
        try await pair.waitForRouterRoutes([], timeout: .seconds(5))
        let node = await announcer.report().node
        XCTAssertEqual(node, "drained")
        XCTAssertFalse(FileManager.default.fileExists(atPath: pair.directory + "/node-drained"),
                       "a stop is not a drain an operator asked for: the next start announces")
    }

    func testBirdRefusingTheFileIsAnErrorWithItsMessage() throws {
        let pair = try BirdPair(self)
        try "protocol static lbd_vips4 { ipv4; route 10.0.0.10/33 blackhole; }\n"
            .write(toFile: pair.routesFile, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BirdControl(socketPath: pair.nodeSocket).configure()) { error in
            guard case .refused(let message) = error as? BirdError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.hasPrefix("Reading configuration from \(pair.directory)/node.conf; \(pair.routesFile):1:"),
                          message)
        }
    }
}
