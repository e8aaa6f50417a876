import CLBABI
import Datapath
import DatapathBench
import Foundation
import PacketCraft
import XCTest

/// How the connection table and ring changes interact: what stays, what moves.
final class FlowStateTests: BalancerTestCase {
    private func establish(sport: UInt16 = 40000) throws {
        try lb.run(frame(tcp4(sport: sport, flags: Packet.TCPFlag.syn)))
    }

    func testEstablishedFlowStaysOnItsBackendAfterARingChange() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try establish()
        try lb.replaceRing(vip4, port: 80, proto: Packet.tcp, ring: [b])
        let ack = tcp4(flags: Packet.TCPFlag.ack)
        let before = try lb.counters()
        try assertRun(frame(ack), action: XDP_TX_, output: ipip(ack, client: client4, sport: 40000, backend: backendA))
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_CONN_HIT: 1, LB_STAT_XDP_TX: 1])
    }

    func testSynAfterARingChangeFollowsTheNewRing() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try establish()
        try lb.replaceRing(vip4, port: 80, proto: Packet.tcp, ring: [b])
        let syn = tcp4(flags: Packet.TCPFlag.syn)
        try assertRun(frame(syn), action: XDP_TX_, output: ipip(syn, client: client4, sport: 40000, backend: backendB))
        let key = lb.flowKey(src: client4, dst: vip4, sport: 40000, dport: 80, proto: Packet.tcp)
        XCTAssertEqual(try lb.connectionBackends(key), [b])
    }

    func testFlowOfABackendThatWentDownIsRepicked() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try establish()
        try lb.setBackend(a, backendA, up: false)
        try lb.replaceRing(vip4, port: 80, proto: Packet.tcp, ring: [b])
        let ack = tcp4(flags: Packet.TCPFlag.ack)
        let before = try lb.counters()
        try assertRun(frame(ack), action: XDP_TX_, output: ipip(ack, client: client4, sport: 40000, backend: backendB))
        CounterDelta(before, try lb.counters()).assertOnly([
            LB_STAT_RX: 1, LB_STAT_CONN_RESCHEDULED: 1, LB_STAT_NEW_FLOW: 1, LB_STAT_XDP_TX: 1,
        ])
        let key = lb.flowKey(src: client4, dst: vip4, sport: 40000, dport: 80, proto: Packet.tcp)
        XCTAssertEqual(try lb.connectionBackends(key), [b])
    }

    func testFlowOfADrainingBackendStays() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try establish()
        // Draining: out of the ring (weight 0) but still up.
        try lb.replaceRing(vip4, port: 80, proto: Packet.tcp, ring: [b])
        let ack = tcp4(flags: Packet.TCPFlag.ack)
        try assertRun(frame(ack), action: XDP_TX_, output: ipip(ack, client: client4, sport: 40000, backend: backendA))
        let newFlow = tcp4(sport: 40001, flags: Packet.TCPFlag.syn)
        try assertRun(frame(newFlow), action: XDP_TX_, output: ipip(newFlow, client: client4, sport: 40001, backend: backendB))
    }

    func testVIPWithoutBackendsDropsNewFlowsAndCountsThem() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [])
        let syn = frame(tcp4(flags: Packet.TCPFlag.syn))
        let before = try lb.counters()
        try assertRun(syn, action: XDP_DROP_)
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_NO_BACKEND: 1, LB_STAT_XDP_DROP: 1])
        XCTAssertEqual(try lb.datapath.vipTraffic(index: 0).packets, 0)
    }

    func testEstablishedFlowSurvivesItsVIPLosingEveryBackendFromTheRing() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try establish()
        try lb.replaceRing(vip4, port: 80, proto: Packet.tcp, ring: [])
        let ack = tcp4(flags: Packet.TCPFlag.ack)
        try assertRun(frame(ack), action: XDP_TX_, output: ipip(ack, client: client4, sport: 40000, backend: backendA))
        try assertRun(frame(tcp4(sport: 40001, flags: Packet.TCPFlag.syn)), action: XDP_DROP_)
    }

    func testFiveTupleHashingSpreadsAClientAndSourceHashingKeepsItTogether() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a, b])
        try lb.addVIP(vip4, port: 443, proto: Packet.tcp, index: 1, ring: [a, b], flags: UInt32(LB_VIP_F_HASH_SOURCE_ONLY))
        var spread = Set<UInt32>(), together = Set<UInt32>()
        for port in UInt16(20000)..<20024 {
            for (dport, vip) in [(UInt16(80), UInt32(0)), (443, 1)] {
                let syn = tcp4(sport: port, dport: dport, flags: Packet.TCPFlag.syn)
                let hash = FlowHash.flow(src: client4, dst: vip4, sport: port, dport: dport, proto: Packet.tcp, sourceOnly: vip == 1)
                let backend = lb.expectedBackend(vip: vip, hash: hash)
                try assertRun(frame(syn), action: XDP_TX_,
                              output: ipip(syn, client: client4, sport: port, backend: backend == a ? backendA : backendB))
                if vip == 0 { spread.insert(backend) } else { together.insert(backend) }
            }
        }
        XCTAssertEqual(spread, [a, b], "24 connections of one client use both backends")
        XCTAssertEqual(together.count, 1, "source hashing keeps a client on one backend")
    }

    func testFlowsOfARemovedVIPPassAndAReusedIndexDoesNotInheritThem() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try establish()
        try lb.datapath.removeVIP(lb.vipKey(vip4, port: 80, proto: Packet.tcp))
        let ack = tcp4(flags: Packet.TCPFlag.ack)
        var before = try lb.counters()
        try assertRun(frame(ack), action: XDP_PASS_)
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_XDP_PASS: 1])
        XCTAssertEqual(try lb.datapath.vipAddrs.keys().count, 0)
        // The index goes to a new VIP on the same address: the old entry is stale.
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [b], generation: 1)
        before = try lb.counters()
        try assertRun(frame(ack), action: XDP_TX_, output: ipip(ack, client: client4, sport: 40000, backend: backendB))
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_CONN_MISS_TCP: 1, LB_STAT_NEW_FLOW: 1, LB_STAT_XDP_TX: 1])
    }

    /// A UDP flow on a VIP whose timeout is `vipTimeout` (the global one is the fixture's 30 s),
    /// its entry last seen `idle` seconds ago, its VIP's ring since moved from a to b.
    private func idleUDPFlow(vipTimeout: UInt32, idle: UInt64) throws -> [UInt8] {
        try lb.addVIP(vip4, port: 53, proto: Packet.udp, index: 1, ring: [a], udpIdleTimeout: vipTimeout)
        try lb.run(frame(udp4()))
        try lb.replaceRing(vip4, port: 53, proto: Packet.udp, ring: [b])
        let datagram = udp4()
        try assertRun(frame(datagram), action: XDP_TX_, output: ipip(datagram, client: client4, sport: 5353, backend: backendA))
        try age(sport: 5353, dport: 53, proto: Packet.udp, by: idle)
        return datagram
    }

    /// Idle 15 s: past the VIP's 5 s, within the global 30 s. The VIP's timeout decides.
    func testIdleUDPFlowIsRepickedAfterItsVIPsTimeout() throws {
        let datagram = try idleUDPFlow(vipTimeout: 5, idle: 15)
        let before = try lb.counters()
        try assertRun(frame(datagram), action: XDP_TX_, output: ipip(datagram, client: client4, sport: 5353, backend: backendB))
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_CONN_MISS_UDP: 1, LB_STAT_NEW_FLOW: 1, LB_STAT_XDP_TX: 1])
    }

    /// Idle 45 s: past the global 30 s, within the VIP's 60 s. The flow stays.
    func testUDPFlowWithinItsVIPsLongerTimeoutStays() throws {
        let datagram = try idleUDPFlow(vipTimeout: 60, idle: 45)
        let before = try lb.counters()
        try assertRun(frame(datagram), action: XDP_TX_, output: ipip(datagram, client: client4, sport: 5353, backend: backendA))
        CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_CONN_HIT: 1, LB_STAT_XDP_TX: 1])
    }

    /// Idle 45 s on a VIP without its own timeout: the global 30 s applies.
    func testIdleUDPFlowIsRepickedAfterTheGlobalTimeout() throws {
        let datagram = try idleUDPFlow(vipTimeout: 0, idle: 45)
        try assertRun(frame(datagram), action: XDP_TX_, output: ipip(datagram, client: client4, sport: 5353, backend: backendB))
    }

    /// A new flow whose ring slot names a backend entry that is down, or cleared, is
    /// dropped as having no backend: nothing is encapsulated toward it.
    func testANewFlowIsNeverSentToABackendThatIsNotUp() throws {
        try lb.setBackend(a, backendA, up: false)
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.addVIP(vip4, port: 443, proto: Packet.tcp, index: 1, ring: [7])
        for dport in [UInt16(80), 443] {
            let syn = frame(tcp4(dport: dport, flags: Packet.TCPFlag.syn))
            let before = try lb.counters()
            try assertRun(syn, action: XDP_DROP_)
            CounterDelta(before, try lb.counters()).assertOnly([LB_STAT_RX: 1, LB_STAT_NO_BACKEND: 1, LB_STAT_XDP_DROP: 1])
        }
    }

    /// `connectionTable` distinct flows from one CPU (the client port varies over them):
    /// 4,068 of the 4,096 are held (99.3%); the others found their bucket's 8 ways taken
    /// by flows of the same run (a full table is half its ways: 0.84% of flows expected).
    func testTheConnectionTableHoldsItsSizeInFlowsFromOneCPU() throws {
        let size = BalancerFixture.limits.connectionTable
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a, b])
        let harness = try BenchHarness.load()
        try harness.setTarget(lb.datapath.program)
        // The client port (offset 34) varies over `size` values; one test run repeats on one CPU.
        // ACKs: a SYN's embryonic entry would give way to the later SYNs of its bucket.
        try harness.setFrame(frame(tcp4(flags: Packet.TCPFlag.ack)), varyOffset: 34, varyMask: size - 1)
        _ = try harness.run(repeat: size)
        let held = try lb.datapath.connTable.keys()
        XCTAssertEqual(Set(held.map { $0.sport }).count, held.count, "one way per flow")
        XCTAssertEqual(held.count, 4068)
    }

    /// A live flow pushed out of its full bucket by newer flows is counted as a TCP miss
    /// with its next packet, which creates its entry again from the ring, evicting the
    /// least recently seen of the bucket's live flows in turn.
    func testALiveFlowEvictedFromAFullBucketCountsAsATCPMiss() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        let ports = sameBucketPorts(as: 40000, count: Int(LB_FLOW_WAYS))
        try lb.run(frame(tcp4(flags: Packet.TCPFlag.ack)))
        try age(by: 10) // the least recently seen of its bucket
        for sport in ports { try lb.run(frame(tcp4(sport: sport, flags: Packet.TCPFlag.ack))) }
        let key = lb.flowKey(src: client4, dst: vip4, sport: 40000, dport: 80, proto: Packet.tcp)
        XCTAssertEqual(try lb.connectionBackends(key), [], "the oldest flow was evicted")
        let ack = tcp4(flags: Packet.TCPFlag.ack)
        let before = try lb.counters()
        try assertRun(frame(ack), action: XDP_TX_, output: ipip(ack, client: client4, sport: 40000, backend: backendA))
        CounterDelta(before, try lb.counters()).assertOnly([
            LB_STAT_RX: 1, LB_STAT_CONN_MISS_TCP: 1, LB_STAT_NEW_FLOW: 1, LB_STAT_EVICTED: 1, LB_STAT_XDP_TX: 1,
        ])
    }
}

