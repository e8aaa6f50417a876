import CLBABI
import Datapath
import PacketCraft
import XCTest

/// How a TCP entry ends: the client's FIN or RST starts a short linger, an idle entry
/// times out, traffic keeps an entry alive; and what a VIP that keeps the flows of a
/// down backend does. The fixture's TCP timeouts: idle 3600 s, linger 10 s.
final class FlowLifetimeTests: BalancerTestCase {
    private let second: UInt64 = 1_000_000_000
    private var key: lb_flow_key { lb.flowKey(src: client4, dst: vip4, sport: 40000, dport: 80, proto: Packet.tcp) }

    /// A flow established on backend a, the VIP's ring since moved to b: a packet the
    /// entry still routes goes to a, one that misses goes to b.
    private func establishThenMoveRing(flags: UInt32 = 0) throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a], flags: flags)
        try lb.run(frame(tcp4(flags: Packet.TCPFlag.syn)))
        try lb.replaceRing(vip4, port: 80, proto: Packet.tcp, ring: [b])
    }

    private func entry() throws -> lb_flow { try XCTUnwrap(try lb.datapath.connTable.lookup(key: key)) }

    func testANewTCPEntryRecordsWhenItWasSeenAndIsNotClosing() throws {
        let start = BalancerDatapath.coarseMonotonicNanoseconds()
        try establishThenMoveRing()
        let created = try entry()
        XCTAssertEqual(created.flags, UInt8(LB_FLOW_F_EMBRYONIC), "a SYN's entry is embryonic, not closing")
        XCTAssertGreaterThanOrEqual(created.last_seen_ns, start)
        XCTAssertLessThanOrEqual(created.last_seen_ns, BalancerDatapath.coarseMonotonicNanoseconds())
    }

    func testTheClientsFINMarksTheEntryClosingAndTheFlowStaysOnItsBackend() throws {
        try establishThenMoveRing()
        try age(by: 100)
        let fin = tcp4(flags: Packet.TCPFlag.fin | Packet.TCPFlag.ack)
        try assertSent(fin, to: backendA, counting: [LB_STAT_CONN_HIT: 1])
        let closing = try entry()
        XCTAssertEqual(closing.flags, UInt8(LB_FLOW_F_CLOSING))
        XCTAssertGreaterThan(closing.last_seen_ns, BalancerDatapath.coarseMonotonicNanoseconds() - second,
                             "the FIN restarts the clock")
    }

    func testTheClientsRSTMarksTheEntryClosingAndReachesTheBackend() throws {
        try establishThenMoveRing()
        let rst = tcp4(flags: Packet.TCPFlag.rst)
        try assertSent(rst, to: backendA, counting: [LB_STAT_CONN_HIT: 1])
        XCTAssertEqual(try entry().flags, UInt8(LB_FLOW_F_CLOSING))
    }

    /// 9 s after the FIN, within the 10 s linger: the final ACK still reaches a.
    func testAClosingEntryRoutesWithinItsLinger() throws {
        try establishThenMoveRing()
        try lb.run(frame(tcp4(flags: Packet.TCPFlag.fin | Packet.TCPFlag.ack)))
        try age(by: 9)
        try assertSent(tcp4(flags: Packet.TCPFlag.ack), to: backendA, counting: [LB_STAT_CONN_HIT: 1])
    }

    /// 11 s after the FIN: the entry is stale, the packet misses and follows the ring.
    func testAClosingEntryExpiresAfterItsLinger() throws {
        try establishThenMoveRing()
        try lb.run(frame(tcp4(flags: Packet.TCPFlag.fin | Packet.TCPFlag.ack)))
        try age(by: 11)
        try assertSent(tcp4(flags: Packet.TCPFlag.ack), to: backendB,
                       counting: [LB_STAT_CONN_MISS_TCP: 1, LB_STAT_NEW_FLOW: 1])
        XCTAssertEqual(try entry().flags, 0)
        XCTAssertEqual(try lb.connectionBackends(key), [b])
    }

    /// An RST after the linger finds a stale entry and, like any RST, creates none.
    func testAnRSTAfterTheLingerMissesAndInsertsNothing() throws {
        try establishThenMoveRing()
        try lb.run(frame(tcp4(flags: Packet.TCPFlag.rst)))
        try age(by: 11)
        let stale = try entry()
        try assertSent(tcp4(flags: Packet.TCPFlag.rst), to: backendB, counting: [LB_STAT_CONN_MISS_TCP: 1])
        let after = try entry()
        XCTAssertEqual(after.backend, stale.backend)
        XCTAssertEqual(after.last_seen_ns, stale.last_seen_ns, "the stale entry was left as it was")
    }

    func testAnRSTWithoutAnEntryInsertsNone() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try assertSent(tcp4(flags: Packet.TCPFlag.rst), to: backendA, counting: [LB_STAT_CONN_MISS_TCP: 1])
        XCTAssertNil(try lb.datapath.connTable.lookup(key: key))
    }

    /// A FIN whose flow has no entry (lost state) creates it closing: it lingers only.
    func testAFINWithoutAnEntryCreatesAClosingOne() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try assertSent(tcp4(flags: Packet.TCPFlag.fin | Packet.TCPFlag.ack), to: backendA,
                       counting: [LB_STAT_CONN_MISS_TCP: 1, LB_STAT_NEW_FLOW: 1])
        XCTAssertEqual(try entry().flags, UInt8(LB_FLOW_F_CLOSING))
    }

    /// Traffic after the FIN (a half-closed flow: the client ACKs the server's data)
    /// restarts the linger each time.
    func testTrafficAfterTheFINKeepsTheEntryAlive() throws {
        try establishThenMoveRing()
        try lb.run(frame(tcp4(flags: Packet.TCPFlag.fin | Packet.TCPFlag.ack)))
        for _ in 0..<3 {
            try age(by: 8)
            try assertSent(tcp4(flags: Packet.TCPFlag.ack), to: backendA, counting: [LB_STAT_CONN_HIT: 1])
            XCTAssertGreaterThan(try entry().last_seen_ns, BalancerDatapath.coarseMonotonicNanoseconds() - second)
        }
        XCTAssertEqual(try entry().flags, UInt8(LB_FLOW_F_CLOSING), "a later packet never reopens it")
    }

    /// The time is rewritten only once it is LB_FLOW_REFRESH_NS old: a packet within
    /// that leaves the entry's cache line alone.
    func testAFreshEntryIsNotRewrittenByEveryPacket() throws {
        try establishThenMoveRing()
        var recent = try entry()
        recent.flags = 0  // established: the first packet after the SYN rewrites the entry
        recent.last_seen_ns = BalancerDatapath.coarseMonotonicNanoseconds() - LB_FLOW_REFRESH_NS / 2
        try lb.datapath.writeFlow(key, recent)
        try assertSent(tcp4(flags: Packet.TCPFlag.ack), to: backendA, counting: [LB_STAT_CONN_HIT: 1])
        XCTAssertEqual(try entry().last_seen_ns, recent.last_seen_ns)
    }

    /// Idle 3599 s of the 3600 s timeout: the flow keeps a, and its clock restarts.
    func testATCPEntryWithinItsIdleTimeoutStays() throws {
        try establishThenMoveRing()
        try age(by: 3599)
        try assertSent(tcp4(flags: Packet.TCPFlag.ack), to: backendA, counting: [LB_STAT_CONN_HIT: 1])
        XCTAssertGreaterThan(try entry().last_seen_ns, BalancerDatapath.coarseMonotonicNanoseconds() - second)
    }

    /// Idle 3601 s: the entry is stale; the packet misses and follows the ring.
    func testAnIdleTCPEntryExpires() throws {
        try establishThenMoveRing()
        try age(by: 3601)
        try assertSent(tcp4(flags: Packet.TCPFlag.ack), to: backendB,
                       counting: [LB_STAT_CONN_MISS_TCP: 1, LB_STAT_NEW_FLOW: 1])
    }

    /// A SYN on the 5-tuple of a closing entry starts a new flow from the ring, not closing.
    func testASYNReplacesAClosingEntry() throws {
        try establishThenMoveRing()
        try lb.run(frame(tcp4(flags: Packet.TCPFlag.fin | Packet.TCPFlag.ack)))
        try assertSent(tcp4(flags: Packet.TCPFlag.syn), to: backendB, counting: [LB_STAT_NEW_FLOW: 1])
        XCTAssertEqual(try entry().flags, UInt8(LB_FLOW_F_EMBRYONIC))
        XCTAssertEqual(try lb.connectionBackends(key), [b])
    }

    /// `on_backend_down: keep`: the flow of a backend that went down stays on it.
    func testAVIPThatKeepsFlowsLeavesThemOnADownBackend() throws {
        try establishThenMoveRing(flags: UInt32(LB_VIP_F_KEEP_FLOWS_ON_DOWN))
        try lb.setBackend(a, backendA, up: false)
        try assertSent(tcp4(flags: Packet.TCPFlag.ack), to: backendA, counting: [LB_STAT_CONN_HIT: 1])
        // New flows never go to it.
        try assertSent(tcp4(sport: 40000, flags: Packet.TCPFlag.syn), to: backendB, counting: [LB_STAT_NEW_FLOW: 1])
    }

    /// Keeping flows never sends one to an index that now belongs to another backend.
    func testAVIPThatKeepsFlowsStillReschedulesAFlowOfARetiredBackend() throws {
        try establishThenMoveRing(flags: UInt32(LB_VIP_F_KEEP_FLOWS_ON_DOWN))
        var retired = lb_backend()
        retired.generation = 1
        try lb.datapath.backends.update(key: a, value: retired)
        try assertSent(tcp4(flags: Packet.TCPFlag.ack), to: backendB,
                       counting: [LB_STAT_CONN_RESCHEDULED: 1, LB_STAT_NEW_FLOW: 1])
    }
}
