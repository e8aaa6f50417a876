@testable import Announce
import Balancer
import XCTest

/// The announcement rules: health, hysteresis, drain; time given, never waited for.
final class AnnouncementPolicyTests: XCTestCase {
    let start = ContinuousClock.now
    let a = try! IPAddress("10.0.0.10")
    let b = try! IPAddress("2001:db8::10")

    func policy(delay: Duration = .seconds(10), drain: Duration = .seconds(5), graceful: Bool = true,
                drained: Bool = false) -> AnnouncementPolicy {
        AnnouncementPolicy(announceDelay: delay, drainTime: drain, gracefulShutdown: graceful, drained: drained)
    }

    func at(_ seconds: Double) -> ContinuousClock.Instant { start + .milliseconds(Int(seconds * 1000)) }

    func testAddressesSeenFirstAreAnnouncedAtOnceWhenTheyCanServe() {
        var policy = policy()
        XCTAssertEqual(policy.update(servable: [a: true, b: false], at: at(0)), [a])
        XCTAssertEqual(policy.announced, [a])
        XCTAssertEqual(policy.routes[a]?.reason, .serving)
        XCTAssertEqual(policy.routes[b]?.reason, .cannotServe)
        XCTAssertFalse(policy.tagged)
    }

    func testWithdrawnAtOnceAnnouncedAgainOnlyAfterTheDelayWithoutABreak() {
        var policy = policy(delay: .seconds(10))
        policy.update(servable: [a: true], at: at(0))
        XCTAssertEqual(policy.update(servable: [a: false], at: at(1)), [a])
        XCTAssertEqual(policy.announced, [])
        // Serving again: held down for 10 s.
        XCTAssertEqual(policy.update(servable: [a: true], at: at(2)), [])
        XCTAssertEqual(policy.routes[a]?.reason, .holdDown(until: at(12)))
        XCTAssertEqual(policy.nextDeadline, at(12))
        // A flap restarts the hold-down.
        XCTAssertEqual(policy.update(servable: [a: false], at: at(5)), [])
        XCTAssertEqual(policy.update(servable: [a: true], at: at(6)), [])
        XCTAssertEqual(policy.update(servable: [a: true], at: at(15.9)), [])
        XCTAssertEqual(policy.update(servable: [a: true], at: at(16)), [a])
        XCTAssertEqual(policy.routes[a], .init(announced: true, reason: .serving, since: at(16)))
        XCTAssertNil(policy.nextDeadline)
    }

    func testNoDelayAnnouncesAgainAtOnce() {
        var policy = policy(delay: .zero)
        policy.update(servable: [a: true], at: at(0))
        policy.update(servable: [a: false], at: at(1))
        XCTAssertEqual(policy.update(servable: [a: true], at: at(1.5)), [a])
    }

    func testAnAddressGoneFromTheStateIsWithdrawnAndForgotten() {
        var policy = policy()
        policy.update(servable: [a: true, b: true], at: at(0))
        XCTAssertEqual(policy.update(servable: [b: true], at: at(1)), [a])
        XCTAssertNil(policy.routes[a])
        XCTAssertEqual(policy.announced, [b])
    }

    func testGracefulDrainTagsForTheDrainTimeThenWithdraws() {
        var policy = policy(drain: .seconds(5), graceful: true)
        policy.update(servable: [a: true, b: false], at: at(0))
        policy.drain(at: at(1))
        XCTAssertEqual(policy.update(servable: [a: true, b: true], at: at(1)), [])
        XCTAssertTrue(policy.tagged)
        XCTAssertEqual(policy.announced, [a], "a withdrawn address is not announced by a drain")
        XCTAssertEqual(policy.nextDeadline, at(6))
        XCTAssertEqual(policy.update(servable: [a: true, b: true], at: at(6)), [a])
        XCTAssertEqual(policy.node, .drained)
        XCTAssertFalse(policy.tagged)
        XCTAssertEqual(policy.routes[a]?.reason, .nodeDrained)
        XCTAssertEqual(policy.routes[b]?.reason, .nodeDrained)
    }

    func testDrainWithoutTheCommunityWithdrawsAtOnce() {
        var policy = policy(graceful: false)
        policy.update(servable: [a: true], at: at(0))
        policy.drain(at: at(1))
        XCTAssertEqual(policy.update(servable: [a: true], at: at(1)), [a])
        XCTAssertEqual(policy.node, .drained)
    }

    func testUndrainAnnouncesWhatCanServeWithoutHoldDown() {
        var policy = policy(delay: .seconds(10), drained: true)
        XCTAssertEqual(policy.update(servable: [a: true, b: false], at: at(0)), [])
        XCTAssertEqual(policy.routes[a]?.reason, .nodeDrained)
        policy.undrain()
        XCTAssertEqual(policy.update(servable: [a: true, b: false], at: at(1)), [a])
        XCTAssertEqual(policy.routes[b]?.reason, .cannotServe)
    }

    func testAnAddressThatFailsWhileDrainingStaysWithdrawn() {
        var policy = policy()
        policy.update(servable: [a: true], at: at(0))
        policy.drain(at: at(1))
        XCTAssertEqual(policy.update(servable: [a: false], at: at(2)), [a])
        XCTAssertEqual(policy.update(servable: [a: true], at: at(3)), [])
    }
}
