import CLBABI
import Datapath
import PacketCraft
import XCTest

/// Packet capture in the datapath: nothing is written while no capture runs; while one
/// does, the packets of its VIP and verdicts reach capture_ring as received and, when
/// transmitted, as sent, sampled and cut to the snap length.
final class CaptureTests: BalancerTestCase {
    private var ring: CaptureRing!
    private let any = UInt32(LB_CAPTURE_V_TX | LB_CAPTURE_V_PASS | LB_CAPTURE_V_DROP | LB_CAPTURE_V_MISS | LB_CAPTURE_V_ICMP)

    override func setUpWithError() throws {
        try super.setUpWithError()
        ring = try lb.datapath.openCaptureRing()
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.addVIP(vip4, port: 53, proto: Packet.udp, index: 1, ring: [b])
        try lb.addVIP(vip4, port: 443, proto: Packet.tcp, index: 2, ring: [])
    }

    override func tearDown() {
        ring = nil
        super.tearDown()
    }

    private func capture(vip: UInt32, verdicts: UInt32, sample: UInt32 = 1, snaplen: UInt32 = 512) throws {
        try lb.datapath.captureConfig.update(key: 0, value: lb_capture_config(enabled: 1, vip: vip, verdicts: verdicts,
                                                                              sample: sample, snaplen: snaplen))
    }

    /// The ring's frames as (stage, verdicts, vip, bytes, length).
    private func frames() throws -> [String] {
        try ring.consume().map { "\($0.sent ? "sent" : "received") v\($0.verdicts) vip\($0.vip) \(hex($0.bytes)) \($0.frameLength)" }
    }

    private func received(_ frame: [UInt8], _ verdicts: some BinaryInteger, vip: UInt32 = 0) -> String {
        "received v\(verdicts) vip\(vip) \(hex(Array(frame.prefix(512)))) \(frame.count)"
    }

    private func sent(_ frame: [UInt8], _ verdicts: some BinaryInteger, vip: UInt32 = 0) -> String {
        "sent v\(verdicts) vip\(vip) \(hex(Array(frame.prefix(512)))) \(frame.count)"
    }

    func testNothingIsCopiedWhileNoCaptureRuns() throws {
        let syn = tcp4(flags: Packet.TCPFlag.syn)
        try assertRun(frame(syn), action: XDP_TX_, output: ipip(syn, client: client4, sport: 40000, backend: backendA))
        try assertRun(frame(tcp4(dport: 443, flags: Packet.TCPFlag.syn)), action: XDP_DROP_)
        XCTAssertEqual(try frames(), [])
        let counters = try lb.datapath.captureCounters()
        XCTAssertEqual([counters.matched, counters.copied, counters.lost], [0, 0, 0])
    }

    func testAVIPsPacketsAreCopiedAsReceivedAndAsSent() throws {
        try capture(vip: 0, verdicts: any)
        let syn = tcp4(flags: Packet.TCPFlag.syn), ack = tcp4(flags: Packet.TCPFlag.ack)
        let synOut = try assertRun(frame(syn), action: XDP_TX_, output: ipip(syn, client: client4, sport: 40000, backend: backendA))
        let ackOut = try assertRun(frame(ack), action: XDP_TX_, output: ipip(ack, client: client4, sport: 40000, backend: backendA))
        // Other VIPs' packets and the host's own traffic are not copied.
        try assertRun(frame(udp4()), action: XDP_TX_, output: ipip(udp4(), client: client4, sport: 5353, backend: backendB))
        try assertRun(frame(tcp4(dport: 22, flags: Packet.TCPFlag.syn)), action: XDP_PASS_)
        XCTAssertEqual(try frames(), [
            received(frame(syn), LB_CAPTURE_V_TX | LB_CAPTURE_V_MISS), sent(synOut, LB_CAPTURE_V_TX | LB_CAPTURE_V_MISS),
            received(frame(ack), LB_CAPTURE_V_TX), sent(ackOut, LB_CAPTURE_V_TX),
        ])
        let counters = try lb.datapath.captureCounters()
        XCTAssertEqual([counters.matched, counters.copied, counters.lost], [2, 4, 0])
    }

    func testVerdictsSamplingAndSnapLength() throws {
        // Drops only, of every VIP: the SYN to a VIP without backends, not the forwarded one.
        try capture(vip: LB_CAPTURE_ANY_VIP, verdicts: UInt32(LB_CAPTURE_V_DROP))
        let dropped = tcp4(dport: 443, flags: Packet.TCPFlag.syn)
        let syn = tcp4(flags: Packet.TCPFlag.syn)
        try assertRun(frame(syn), action: XDP_TX_, output: ipip(syn, client: client4, sport: 40000, backend: backendA))
        try assertRun(frame(dropped), action: XDP_DROP_)
        XCTAssertEqual(try frames(), [received(frame(dropped), LB_CAPTURE_V_DROP | LB_CAPTURE_V_MISS, vip: 2)])

        // ICMP the balancer answers: an echo to a VIP address, with no VIP index.
        try capture(vip: LB_CAPTURE_ANY_VIP, verdicts: UInt32(LB_CAPTURE_V_ICMP))
        let echo = Packet.ipv4(src: client4, dst: vip4, proto: Packet.icmp,
                               payload: Packet.icmpv4(type: 8, code: 0, rest: [0, 7, 0, 1], body: [1, 2, 3]))
        let answered = try lb.run(frame(echo))
        XCTAssertEqual(answered.action, XDP_TX_)
        let reply = answered.output
        XCTAssertEqual(try frames(), [received(frame(echo), LB_CAPTURE_V_TX | LB_CAPTURE_V_ICMP, vip: LB_CAPTURE_ANY_VIP),
                                      sent(reply, LB_CAPTURE_V_TX | LB_CAPTURE_V_ICMP, vip: LB_CAPTURE_ANY_VIP)])

        // ICMP it generates: a SYN too big for the path once encapsulated is answered.
        try lb.setConfig(mtu: 1320, udpIdleTimeout: 30)
        try capture(vip: 0, verdicts: UInt32(LB_CAPTURE_V_ICMP))
        let big = tcp4(sport: 42000, flags: Packet.TCPFlag.syn, payload: [UInt8](repeating: 1, count: 1300))
        let answer = try lb.run(frame(big))
        XCTAssertEqual(answer.action, XDP_TX_)
        let tooBig = LB_CAPTURE_V_TX | LB_CAPTURE_V_MISS | LB_CAPTURE_V_ICMP
        XCTAssertEqual(try frames(), [received(frame(big), tooBig), sent(answer.output, tooBig)])
        try lb.setConfig(mtu: 1500, udpIdleTimeout: 30)

        // One in two matching packets, 64 bytes of each.
        try lb.datapath.captureStats.update(key: 0, value: lb_capture_stats())
        try capture(vip: 0, verdicts: UInt32(LB_CAPTURE_V_MISS), sample: 2, snaplen: 64)
        let syns = (0..<4).map { tcp4(sport: 41000 + UInt16($0), flags: Packet.TCPFlag.syn, payload: [UInt8](repeating: 7, count: 100)) }
        var outputs: [[UInt8]] = []
        for syn in syns { outputs.append(try lb.run(frame(syn)).output) }
        XCTAssertEqual(try ring.consume().map { [$0.bytes, [UInt8(truncatingIfNeeded: $0.frameLength)]] }, [
            [Array(frame(syns[1]).prefix(64)), [UInt8(frame(syns[1]).count)]], [Array(outputs[1].prefix(64)), [UInt8(outputs[1].count)]],
            [Array(frame(syns[3]).prefix(64)), [UInt8(frame(syns[3]).count)]], [Array(outputs[3].prefix(64)), [UInt8(outputs[3].count)]],
        ])
    }
}
