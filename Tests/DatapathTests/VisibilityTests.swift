import CLBABI
import Datapath
import PacketCraft
import XCTest

/// What the datapath counts for the views of issue 16: per-VIP SYNs, new flows and
/// misses (vip_flow_stats), and the connection table's entry count.
final class VisibilityTests: BalancerTestCase {
    private func flows(_ index: UInt32) throws -> [UInt64] {
        let flows = try lb.datapath.vipFlows(index: index)
        return [flows.syns, flows.new_flows, flows.misses]
    }

    func testPerVIPCountersCountSYNsNewFlowsAndMissesOfTheirVIPOnly() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.addVIP(vip4, port: 53, proto: Packet.udp, index: 1, ring: [b])
        try lb.addVIP(vip4, port: 443, proto: Packet.tcp, index: 2, ring: [])
        try assertSent(tcp4(flags: Packet.TCPFlag.syn), sport: 40000, to: backendA)
        XCTAssertEqual(try flows(0), [1, 1, 0])
        // The flow's next packets hit its entry: not counted again.
        try assertSent(tcp4(flags: Packet.TCPFlag.ack), sport: 40000, to: backendA)
        XCTAssertEqual(try flows(0), [1, 1, 0])
        // An ACK of a flow without an entry (state lost) is a miss, and gets one.
        try assertSent(tcp4(sport: 40001, flags: Packet.TCPFlag.ack), sport: 40001, to: backendA)
        XCTAssertEqual(try flows(0), [1, 2, 1])
        // An RST without an entry is a miss and creates none.
        XCTAssertEqual(try lb.connectionBackends(lb.flowKey(src: client4, dst: vip4, sport: 40001, dport: 80,
                                                            proto: Packet.tcp)), [a])
        try assertSent(tcp4(sport: 40002, flags: Packet.TCPFlag.rst), sport: 40002, to: backendA)
        XCTAssertEqual(try flows(0), [1, 2, 2])
        XCTAssertEqual(try lb.connectionBackends(lb.flowKey(src: client4, dst: vip4, sport: 40002, dport: 80,
                                                            proto: Packet.tcp)), [])
        // A new UDP flow is a miss and a new flow, of the UDP VIP only.
        try assertSent(udp4(), sport: 5353, to: backendB)
        try assertSent(udp4(), sport: 5353, to: backendB)
        XCTAssertEqual(try flows(1), [0, 1, 1])
        XCTAssertEqual(try flows(0), [1, 2, 2])
        // SYNs to a VIP without backends are counted though dropped; no entry is made.
        try assertRun(frame(tcp4(dport: 443, flags: Packet.TCPFlag.syn)), action: XDP_DROP_)
        XCTAssertEqual(try flows(2), [1, 0, 0])
        // Traffic to no VIP counts for none.
        try assertRun(frame(tcp4(dport: 8080, flags: Packet.TCPFlag.syn)), action: XDP_PASS_)
        XCTAssertEqual(try (0..<3).map(flows), [[1, 2, 2], [0, 1, 1], [1, 0, 0]])
    }

    func testTheConnectionTableCountIsItsEntriesInOneBatchOrMany() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        XCTAssertEqual(try lb.datapath.connTable.count(), EntryCount(entries: 0, exact: true))
        for sport in UInt16(30000)..<33000 {
            try lb.run(frame(tcp4(sport: sport, flags: Packet.TCPFlag.syn)))
        }
        // Two of the 3,000 SYNs found their bucket's 8 ways taken by later SYNs of the run.
        let exact = EntryCount(entries: 2998, exact: true)
        XCTAssertEqual(try lb.datapath.connectionTableEntries(), exact)
        XCTAssertEqual(try lb.datapath.connTable.count(batchSize: 7), exact)
        XCTAssertEqual(try lb.datapath.connTable.count(batchSize: 3000), exact)
        XCTAssertEqual(try lb.datapath.connTable.keys().count, 2998)
        XCTAssertThrowsError(try lb.datapath.connTable.count(batchSize: 0))
        // A sample of half the entries: an estimate from the buckets walked (1,024 of
        // them), within 5 standard errors (√1500 / 1500 × √(1 - 0.5) = 1.8%).
        let estimate = try lb.datapath.connTable.count(batchSize: 64, sample: 1500)
        XCTAssertFalse(estimate.exact)
        XCTAssertEqual(Double(estimate.entries), 2998, accuracy: 2998 * 0.09)
        XCTAssertEqual(try lb.datapath.connTable.count(batchSize: 64, sample: 2999), exact)
    }
}
