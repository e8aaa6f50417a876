import CLBABI
import Datapath
import PacketCraft
import TestSupport
import XCTest

/// The per-CPU new-flow limit (issue 17, flood.new_flows_per_cpu, bpf/lib/flood.h): within
/// it a new flow creates its entry; over it the flow goes by its VIP's ring without one,
/// counted. Every CPU's window is written by the test, so no case depends on how fast it runs:
/// a window that starts an hour from now lasts, one that started at boot has ended.
final class FloodLimitTests: BalancerTestCase {
    private let second: UInt64 = 1_000_000_000
    /// Every run on one CPU: the windows are per CPU.
    private var pin: CPUPin?

    override func setUpWithError() throws {
        try super.setUpWithError()
        pin = try CPUPin()
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a, b])
        try lb.addVIP(vip4, port: 53, proto: Packet.udp, index: 1, ring: [a, b])
    }

    override func tearDown() {
        pin?.release()
        super.tearDown()
    }

    private func setLimit(_ limit: UInt32) throws {
        var flood = lb_flood_config()
        flood.new_flows_per_cpu = limit
        try lb.datapath.writeFloodSettings(flood)
    }

    /// Every CPU's window: begun at `start`, with these counts.
    private func setWindow(start: UInt64, syns: UInt32 = 0, others: UInt32 = 0, flooded: Bool = false) throws {
        try lb.datapath.floodWindow.update(key: 0, value: lb_flood_window(
            start_ns: start, syns: syns, others: others, flooded: flooded ? 1 : 0, pad: 0))
    }

    private func lastingWindow(syns: UInt32 = 0, others: UInt32 = 0, flooded: Bool = false) throws {
        try setWindow(start: BalancerDatapath.coarseMonotonicNanoseconds() + 3600 * second, syns: syns, others: others,
                      flooded: flooded)
    }

    /// The backend address vip4's ring [a, b] gives this flow.
    private func ringBackend(sport: UInt16, dport: UInt16 = 80, proto: UInt8 = Packet.tcp) -> [UInt8] {
        let hash = FlowHash.flow(src: client4, dst: vip4, sport: sport, dport: dport, proto: proto, sourceOnly: false)
        return lb.expectedBackend(vip: dport == 80 ? 0 : 1, hash: hash) == a ? backendA : backendB
    }

    private func entry(sport: UInt16, dport: UInt16 = 80, proto: UInt8 = Packet.tcp) throws -> [UInt32] {
        try lb.connectionBackends(lb.flowKey(src: client4, dst: vip4, sport: sport, dport: dport, proto: proto))
    }

    private func backendIndex(_ address: [UInt8]) -> UInt32 { address == backendA ? a : b }

    private func syn(_ sport: UInt16) -> [UInt8] { tcp4(sport: sport, flags: Packet.TCPFlag.syn) }

    func testBelowTheLimitASynCreatesItsEntry() throws {
        try setLimit(3)
        try lastingWindow()
        for sport in UInt16(40000)..<40003 {
            try assertSent(syn(sport), sport: sport, to: ringBackend(sport: sport), counting: [LB_STAT_NEW_FLOW: 1])
            XCTAssertEqual(try entry(sport: sport), [backendIndex(ringBackend(sport: sport))])
        }
    }

    func testOverTheLimitASynGoesByTheRingWithoutAnEntryAndItsAckCreatesIt() throws {
        try setLimit(2)
        try lastingWindow()
        for sport in UInt16(40000)..<40002 {
            try assertSent(syn(sport), sport: sport, to: ringBackend(sport: sport), counting: [LB_STAT_NEW_FLOW: 1])
        }
        let spread = Set((40002..<40010).map { ringBackend(sport: $0) })
        XCTAssertEqual(spread, [backendA, backendB], "the flows over the limit are spread by the ring")
        for sport in UInt16(40002)..<40010 {
            try assertSent(syn(sport), sport: sport, to: ringBackend(sport: sport), counting: [LB_STAT_FLOOD_SYN: 1])
            XCTAssertEqual(try entry(sport: sport), [])
        }
        // The handshake's ACK asks for an entry from the other budget, and gets it.
        let ack = tcp4(sport: 40002, flags: Packet.TCPFlag.ack)
        try assertSent(ack, sport: 40002, to: ringBackend(sport: 40002),
                       counting: [LB_STAT_CONN_MISS_TCP: 1, LB_STAT_NEW_FLOW: 1])
        XCTAssertEqual(try entry(sport: 40002), [backendIndex(ringBackend(sport: 40002))])
        XCTAssertEqual(try lb.datapath.floodWindow.lookupPerCPU(key: 0)?.map { $0.syns }.max(), 10)
    }

    func testOtherNewFlowsHaveTheirOwnBudget() throws {
        try setLimit(1)
        try lastingWindow(syns: 1_000)
        try assertSent(udp4(sport: 5000), sport: 5000, to: ringBackend(sport: 5000, dport: 53, proto: Packet.udp),
                       counting: [LB_STAT_CONN_MISS_UDP: 1, LB_STAT_NEW_FLOW: 1])
        try assertSent(udp4(sport: 5001), sport: 5001, to: ringBackend(sport: 5001, dport: 53, proto: Packet.udp),
                       counting: [LB_STAT_CONN_MISS_UDP: 1, LB_STAT_FLOOD_OTHER: 1])
        XCTAssertEqual(try entry(sport: 5000, dport: 53, proto: Packet.udp).count, 1)
        XCTAssertEqual(try entry(sport: 5001, dport: 53, proto: Packet.udp), [])
    }

    func testANewWindowStartsItsCountAfresh() throws {
        try setLimit(1)
        let since = BalancerDatapath.coarseMonotonicNanoseconds()
        // A window of boot time, over the limit: long over, it leaves no flood behind.
        try setWindow(start: 0, syns: 50, others: 50)
        try assertSent(syn(40000), sport: 40000, to: ringBackend(sport: 40000), counting: [LB_STAT_NEW_FLOW: 1])
        try assertSent(syn(40001), sport: 40001, to: ringBackend(sport: 40001), counting: [LB_STAT_FLOOD_SYN: 1])
        let windows = try XCTUnwrap(try lb.datapath.floodWindow.lookupPerCPU(key: 0))
        let current = try XCTUnwrap(windows.first { $0.start_ns != 0 })
        XCTAssertEqual([current.syns, current.others, current.flooded], [2, 0, 0])
        XCTAssertTrue(current.start_ns >= since && current.start_ns <= BalancerDatapath.coarseMonotonicNanoseconds())
    }

    func testAWindowThatEndedOverTheLimitLeavesTheNextFlooded() throws {
        try setLimit(5)
        // Begun 2 s ago (its successor is flooded for up to 10 s): the next SYN rolls it.
        try setWindow(start: BalancerDatapath.coarseMonotonicNanoseconds() - 2 * second, syns: 6)
        try assertSent(syn(40000), sport: 40000, to: ringBackend(sport: 40000), counting: [LB_STAT_FLOOD_SYN: 1])
        XCTAssertEqual(try entry(sport: 40000), [])
        let windows = try XCTUnwrap(try lb.datapath.floodWindow.lookupPerCPU(key: 0))
        XCTAssertEqual(windows.filter { $0.flooded == 1 }.map(\.syns), [1])
        // Within the limit, a flooded window gives other new flows their entries.
        try assertSent(udp4(sport: 5000), sport: 5000, to: ringBackend(sport: 5000, dport: 53, proto: Packet.udp),
                       counting: [LB_STAT_CONN_MISS_UDP: 1, LB_STAT_NEW_FLOW: 1])
    }

    func testWhileFloodedASynGetsItsEntryRightAfterItsVIPsRingChanged() throws {
        try setLimit(5)
        try lastingWindow(flooded: true)
        try assertSent(syn(40000), sport: 40000, to: ringBackend(sport: 40000), counting: [LB_STAT_FLOOD_SYN: 1])
        try lb.replaceRing(vip4, port: 80, proto: Packet.tcp, ring: [b])
        try assertSent(syn(40001), sport: 40001, to: backendB, counting: [LB_STAT_NEW_FLOW: 1])
        XCTAssertEqual(try entry(sport: 40001), [b])
        // Another VIP's ring did not change: its SYNs still go without entries.
        try lb.addVIP(vip4, port: 443, proto: Packet.tcp, index: 2, ring: [a])
        let other = tcp4(sport: 40002, dport: 443, flags: Packet.TCPFlag.syn)
        try assertSent(other, sport: 40002, to: backendA, counting: [LB_STAT_FLOOD_SYN: 1])
    }

    func testLimitZeroNeverLimits() throws {
        try setLimit(0)
        try lastingWindow(syns: .max, others: .max, flooded: true)
        try assertSent(syn(40000), sport: 40000, to: ringBackend(sport: 40000), counting: [LB_STAT_NEW_FLOW: 1])
        try assertSent(udp4(sport: 5000), sport: 5000, to: ringBackend(sport: 5000, dport: 53, proto: Packet.udp),
                       counting: [LB_STAT_CONN_MISS_UDP: 1, LB_STAT_NEW_FLOW: 1])
        XCTAssertEqual(try lb.datapath.floodWindow.lookupPerCPU(key: 0)?.map(\.syns), try lb.datapath.floodWindow
            .lookupPerCPU(key: 0).map { $0.map { _ in UInt32.max } }, "an unlimited CPU counts nothing")
    }
}
