import CLBABI
import Datapath
import PacketCraft
import XCTest

/// The connection table's buckets (bpf/lib/flow_table.h): which way a new flow takes,
/// what a SYN may not take, and the check word that turns a torn way into a miss. The
/// flows below share one bucket (`sameBucketPorts`); the fixture's TCP idle timeout is
/// 3600 s.
final class FlowTableTests: BalancerTestCase {
    private let ways = Int(LB_FLOW_WAYS)

    private func key(_ sport: UInt16) -> lb_flow_key {
        lb.flowKey(src: client4, dst: vip4, sport: sport, dport: 80, proto: Packet.tcp)
    }

    /// The client ports of the flows in the bucket, way by way (0: empty).
    private func bucketPorts(of sport: UInt16) throws -> [UInt16] {
        let bucket = try XCTUnwrap(try lb.datapath.connTable.buckets.lookup(key: lb.datapath.connTable.bucketIndex(of: key(sport))))
        return withUnsafeBytes(of: bucket.ways) { raw in
            (0..<ways).map { way in
                let slot = raw.loadUnaligned(fromByteOffset: way * MemoryLayout<lb_flow_slot>.stride, as: lb_flow_slot.self)
                return slot.flow.check == 0 ? 0 : UInt16(bigEndian: slot.key.sport)
            }
        }
    }

    private func edit(_ sport: UInt16, _ change: (inout lb_flow) -> Void) throws {
        var entry = try XCTUnwrap(try lb.datapath.connTable.lookup(key: key(sport)))
        change(&entry)
        try lb.datapath.writeFlow(key(sport), entry)
    }

    private func establish(_ sport: UInt16) throws {
        try assertSent(tcp4(sport: sport, flags: Packet.TCPFlag.ack), sport: sport, to: backendA,
                       counting: [LB_STAT_CONN_MISS_TCP: 1, LB_STAT_NEW_FLOW: 1])
    }

    /// A new flow takes an empty way, then a stale one, then an embryonic one, then the
    /// least recently seen; a SYN finding only established flows creates no entry and
    /// goes by the ring, so a SYN flood never evicts an established flow.
    func testANewFlowTakesAnEmptyThenAStaleThenAnEmbryonicThenTheOldestWay() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        let ports = [UInt16(40000)] + sameBucketPorts(as: 40000, count: ways + 4)
        let (kept, newcomers) = (Array(ports.prefix(ways - 1)), Array(ports.suffix(5)))
        let now = BalancerDatapath.coarseMonotonicNanoseconds()
        for sport in kept { try establish(sport) }
        try edit(kept[1]) { $0.last_seen_ns = now - 3610 * 1_000_000_000 }  // past the idle timeout (leases: ~1 s units)
        try lb.run(frame(tcp4(sport: kept[2], flags: Packet.TCPFlag.syn)))  // re-picked: embryonic
        XCTAssertEqual(try lb.datapath.connTable.lookup(key: key(kept[2]))?.flags, UInt8(LB_FLOW_F_EMBRYONIC))
        try edit(kept[3]) { $0.last_seen_ns = now - 100 * 1_000_000_000 }   // the least recently seen
        XCTAssertEqual(try bucketPorts(of: 40000), kept + [0])

        var expected = kept + [newcomers[0]]
        try establish(newcomers[0])
        XCTAssertEqual(try bucketPorts(of: 40000), expected, "the empty way first")
        try establish(newcomers[1])
        expected[1] = newcomers[1]
        XCTAssertEqual(try bucketPorts(of: 40000), expected, "then the stale one")
        try establish(newcomers[2])
        expected[2] = newcomers[2]
        XCTAssertEqual(try bucketPorts(of: 40000), expected, "then the embryonic one")
        try assertSent(tcp4(sport: newcomers[3], flags: Packet.TCPFlag.ack), sport: newcomers[3], to: backendA,
                       counting: [LB_STAT_CONN_MISS_TCP: 1, LB_STAT_NEW_FLOW: 1, LB_STAT_EVICTED: 1])
        expected[3] = newcomers[3]
        XCTAssertEqual(try bucketPorts(of: 40000), expected, "then the least recently seen")

        // Every way established and live: a SYN goes by the ring and creates nothing ...
        try assertSent(tcp4(sport: newcomers[4], flags: Packet.TCPFlag.syn), sport: newcomers[4], to: backendA,
                       counting: [LB_STAT_SYN_BUCKET_FULL: 1])
        XCTAssertEqual(try bucketPorts(of: 40000), expected, "a SYN evicts no established flow")
        XCTAssertNil(try lb.datapath.connTable.lookup(key: key(newcomers[4])))
        // ... and its flow's first other packet inserts, replacing the least recently seen.
        try edit(expected[5]) { $0.last_seen_ns = now - 50 * 1_000_000_000 }
        try assertSent(tcp4(sport: newcomers[4], flags: Packet.TCPFlag.ack), sport: newcomers[4], to: backendA,
                       counting: [LB_STAT_CONN_MISS_TCP: 1, LB_STAT_NEW_FLOW: 1, LB_STAT_EVICTED: 1])
        expected[5] = newcomers[4]
        XCTAssertEqual(try bucketPorts(of: 40000), expected)
        XCTAssertEqual(try lb.datapath.connTable.lookup(key: key(newcomers[4]))?.flags, 0)
    }

    /// The first packet after a SYN makes its entry established: SYNs then pass it by.
    func testTheFirstPacketAfterTheSYNMakesTheEntryEstablished() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        let ports = [UInt16(40000)] + sameBucketPorts(as: 40000, count: ways)
        for sport in ports.prefix(ways) { try lb.run(frame(tcp4(sport: sport, flags: Packet.TCPFlag.syn))) }
        try assertSent(tcp4(flags: Packet.TCPFlag.ack), to: backendA, counting: [LB_STAT_CONN_HIT: 1])
        XCTAssertEqual(try lb.datapath.connTable.lookup(key: key(40000))?.flags, 0)
        // The next SYN of the bucket takes the oldest embryonic way, never the established one.
        try lb.run(frame(tcp4(sport: ports[ways], flags: Packet.TCPFlag.syn)))
        XCTAssertEqual(try bucketPorts(of: 40000), [40000, ports[ways]] + Array(ports[2..<ways]))
    }

    /// The bucket's head, way by way: the tag of the key, the lease (when the entry times
    /// out, in 2^30 ns units; the established bit unless embryonic). A SYN's entry leases
    /// for the idle timeout without the bit, its ACK sets the bit, the client's FIN
    /// shortens the lease to the linger.
    func testTheBucketHeadTagsAndLeasesEveryWay() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        let index = lb.datapath.connTable.bucketIndex(of: key(40000))
        func head() throws -> (tags: [UInt32], leases: [UInt32], seen: UInt64) {
            let bucket = try XCTUnwrap(try lb.datapath.connTable.buckets.lookup(key: index))
            let seen = try XCTUnwrap(try lb.datapath.connTable.lookup(key: key(40000))).last_seen_ns
            return (FlowTable.words(bucket.head.tags), FlowTable.words(bucket.head.leases), seen)
        }
        func lease(_ seen: UInt64, _ seconds: UInt64) -> UInt32 { UInt32((seen + seconds * 1_000_000_000) >> 30) }
        let tag = FlowTable.keyHash(key(40000)) | 1
        let empty = [UInt32](repeating: 0, count: ways - 1)

        try lb.run(frame(tcp4(flags: Packet.TCPFlag.syn)))
        var now = try head()
        XCTAssertEqual(now.tags, [tag] + empty)
        XCTAssertEqual(now.leases, [lease(now.seen, 3600)] + empty)
        try assertSent(tcp4(flags: Packet.TCPFlag.ack), to: backendA, counting: [LB_STAT_CONN_HIT: 1])
        now = try head()
        XCTAssertEqual(now.leases, [LB_FLOW_LEASE_ESTABLISHED | lease(now.seen, 3600)] + empty)
        try assertSent(tcp4(flags: Packet.TCPFlag.fin | Packet.TCPFlag.ack), to: backendA, counting: [LB_STAT_CONN_HIT: 1])
        now = try head()
        XCTAssertEqual(now.tags, [tag] + empty)
        XCTAssertEqual(now.leases, [LB_FLOW_LEASE_ESTABLISHED | lease(now.seen, 10)] + empty)
    }

    /// A way whose check word is not that of its key and routing fields (a write another
    /// CPU read half done) is a miss: the flow goes by its ring, never to the backend or
    /// VIP the torn way names, and its entry is written again, whole.
    func testAWayWithAWrongCheckWordIsAMiss() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try establish(40000)
        let index = lb.datapath.connTable.bucketIndex(of: key(40000))
        var bucket = try XCTUnwrap(try lb.datapath.connTable.buckets.lookup(key: index))
        withUnsafeMutableBytes(of: &bucket.ways) { raw in
            var slot = raw.loadUnaligned(as: lb_flow_slot.self)
            XCTAssertEqual(UInt16(bigEndian: slot.key.sport), 40000)
            // Another flow's routing fields and check, under this flow's key.
            let other = lb.flowKey(src: client4, dst: vip4, sport: 40001, dport: 80, proto: Packet.tcp)
            slot.flow.backend = b
            slot.flow.check = FlowTable.check(keyHash: FlowTable.keyHash(other), slot.flow)
            raw.storeBytes(of: slot, as: lb_flow_slot.self)
        }
        try lb.datapath.connTable.buckets.update(key: index, value: bucket)
        XCTAssertNil(try lb.datapath.connTable.lookup(key: key(40000)))
        try assertSent(tcp4(flags: Packet.TCPFlag.ack), to: backendA,
                       counting: [LB_STAT_CONN_MISS_TCP: 1, LB_STAT_NEW_FLOW: 1])
        XCTAssertEqual(try lb.connectionBackends(key(40000)), [a])
        XCTAssertEqual(try bucketPorts(of: 40000).filter { $0 == 40000 }.count, 1, "its own way, rewritten")
    }
}
