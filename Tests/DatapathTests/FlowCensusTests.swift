import CLBABI
import Datapath
import PacketCraft
import XCTest

/// `BalancerDatapath.flowCensus`: the live entries by VIP and backend, judged as the
/// program judges them.
final class FlowCensusTests: BalancerTestCase {
    func testActiveAndClosingFlowsPerVIPAndBackend() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.addVIP(vip4, port: 53, proto: Packet.udp, index: 1, ring: [b])
        for sport in UInt16(40000)..<40006 { try lb.run(frame(tcp4(sport: sport, flags: Packet.TCPFlag.syn))) }
        try lb.run(frame(tcp4(sport: 40000, flags: Packet.TCPFlag.fin | Packet.TCPFlag.ack)))
        try lb.run(frame(tcp4(sport: 40001, flags: Packet.TCPFlag.rst)))
        try lb.run(frame(tcp4(sport: 40002, flags: Packet.TCPFlag.fin | Packet.TCPFlag.ack)))
        try age(sport: 40002, by: 11)    // past the 10 s linger
        try age(sport: 40003, by: 3601)  // past the 1 h idle timeout
        try age(sport: 40004, by: 3599)
        try lb.run(frame(udp4(sport: 5353)))
        try lb.run(frame(udp4(sport: 5354)))
        try age(sport: 5354, dport: 53, proto: Packet.udp, by: 31)  // past the 30 s UDP timeout
        XCTAssertEqual(try lb.datapath.flowCensus(), [
            FlowOwner(vipIndex: 0, backendIndex: a): FlowTally(active: 2, closing: 2),
            FlowOwner(vipIndex: 1, backendIndex: b): FlowTally(active: 1, closing: 0),
        ])
    }

    /// A down backend's flows count only where the VIP keeps them; a retired index's and
    /// a removed VIP's never.
    func testFlowsThatWouldBeReroutedCountNowhere() throws {
        try lb.addVIP(vip4, port: 80, proto: Packet.tcp, index: 0, ring: [a])
        try lb.addVIP(vip4, port: 81, proto: Packet.tcp, index: 1, ring: [a], flags: UInt32(LB_VIP_F_KEEP_FLOWS_ON_DOWN))
        try lb.addVIP(vip4, port: 82, proto: Packet.tcp, index: 2, ring: [b])
        for dport in UInt16(80)...82 { try lb.run(frame(tcp4(dport: dport, flags: Packet.TCPFlag.syn))) }
        try lb.setBackend(a, backendA, up: false)
        try lb.datapath.removeVIP(lb.vipKey(vip4, port: 82, proto: Packet.tcp))
        XCTAssertEqual(try lb.datapath.flowCensus(), [FlowOwner(vipIndex: 1, backendIndex: a): FlowTally(active: 1)])
    }
}
