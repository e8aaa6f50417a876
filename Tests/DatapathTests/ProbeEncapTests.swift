import CLBABI
import Datapath
import PacketCraft
import TestSupport
import XCTest

/// The health checks' tunnel (bpf/healthcheck.bpf.c) on a marked socket buffer: a probe
/// leaves encapsulated byte for byte as the balancer encapsulates a client's packet to
/// the same backend; anything else is untouched or, if it is a probe that cannot be
/// encapsulated, dropped.
final class ProbeEncapTests: BalancerTestCase {
    private var encapsulator: ProbeEncapsulator!
    /// TC_ACT_OK, TC_ACT_SHOT (linux/pkt_cls.h).
    private let tcOK: UInt32 = 0, tcShot: UInt32 = 2
    private let neighbourMAC = Packet.mac("02:00:00:00:00:77")

    override func setUpWithError() throws {
        try super.setUpWithError()
        encapsulator = try ProbeEncapsulator(sharing: lb.datapath)
    }

    override func tearDown() {
        encapsulator = nil
        super.tearDown()
    }

    /// A probe as the LB host's stack sends it: from the host's MAC to the neighbour the
    /// route to the VIP chose. The host plays client4 / client6.
    private func probe(_ ipPacket: [UInt8]) -> [UInt8] {
        let type = ipPacket[0] >> 4 == 6 ? Packet.ethIPv6 : Packet.ethIPv4
        return Packet.ethernet(dst: neighbourMAC, src: lb.lbMAC, type: type, payload: ipPacket)
    }

    private func run(_ frame: [UInt8], mark: UInt32) throws -> TestRunResult {
        try encapsulator.program.testRun(frame: frame, skbMark: mark)
    }

    private func mark(_ index: UInt32) throws -> UInt32 {
        try XCTUnwrap(ProbeEncapsulator.mark(backendIndex: index))
    }

    /// The same inner packet through the balancer (a VIP whose ring is all `backend`).
    private func balancerOutput(_ inner: [UInt8], backend: UInt32) throws -> [UInt8] {
        try lb.addVIP(inner[0] >> 4 == 6 ? vip6 : vip4, port: inner[0] >> 4 == 6 ? 443 : 80, proto: Packet.tcp,
                      index: 0, ring: [backend])
        let result = try lb.run(frame(inner))
        XCTAssertEqual(result.action, XDP_TX_)
        return result.output
    }

    /// `inner` marked for `backend` leaves as `expected`, the balancer's frame for it.
    private func assertSentLikeTheBalancer(_ inner: [UInt8], to backend: UInt32, as expected: [UInt8],
                                           file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try run(probe(inner), mark: mark(backend))
        XCTAssertEqual(result.action, tcOK, file: file, line: line)
        XCTAssertEqual(hex(result.output), hex(expected), file: file, line: line)
        XCTAssertEqual(hex(result.output), hex(try balancerOutput(inner, backend: backend)), file: file, line: line)
    }

    func testIPv4ProbeLeavesInIPIPAsTheBalancerWouldSendIt() throws {
        let syn = tcp4(flags: Packet.TCPFlag.syn, tos: 0x10)
        try assertSentLikeTheBalancer(syn, to: a, as: ipip(syn, client: client4, sport: 40000, backend: backendA, tos: 0x10))
    }

    func testIPv6ProbeLeavesInIP6IP6() throws {
        let syn = tcp6(flags: Packet.TCPFlag.syn, trafficClass: 0xb8)
        try assertSentLikeTheBalancer(syn, to: c6, as: ip6ip6(syn, client: client6, sport: 40000, backend: backendC6,
                                                            trafficClass: 0xb8))
    }

    func testIPv4ProbeToAnIPv6BackendLeavesFourInSix() throws {
        let request = tcp4(flags: Packet.TCPFlag.ack | Packet.TCPFlag.psh, payload: Array("GET / HTTP/1.1\r\n\r\n".utf8))
        let result = try run(probe(request), mark: mark(d6))
        XCTAssertEqual(result.action, tcOK)
        XCTAssertEqual(hex(result.output), hex(ip6ip6(request, client: client4, sport: 40000, backend: backendD6)))
    }

    func testPacketsWithoutTheProbeMarkAreUntouched() throws {
        let syn = probe(tcp4(flags: Packet.TCPFlag.syn))
        for foreign: UInt32 in [0, 1, LB_PROBE_MARK_BASE ^ 0x0010_0000 | a, 0xffff_ffff] {
            let result = try run(syn, mark: foreign)
            XCTAssertEqual(result.action, tcOK, "mark \(String(foreign, radix: 16))")
            XCTAssertEqual(result.output, syn, "mark \(String(foreign, radix: 16))")
        }
    }

    /// A probe the tunnel cannot carry must not reach the VIP in the clear: the router
    /// would hand it to whichever backend the ring picks, and the check would pass for
    /// the wrong backend.
    func testProbesThatCannotBeEncapsulatedAreDropped() throws {
        let unknownIndex: UInt32 = 9  // no backend entry (family 0)
        XCTAssertEqual(try run(probe(tcp4(flags: Packet.TCPFlag.syn)), mark: mark(unknownIndex)).action, tcShot)
        XCTAssertEqual(try run(probe(tcp4(flags: Packet.TCPFlag.syn)), mark: LB_PROBE_MARK_BASE).action, tcShot,
                       "index 0 is never a backend")
        XCTAssertEqual(try run(probe(tcp6(flags: Packet.TCPFlag.syn)), mark: mark(a)).action, tcShot,
                       "an IPv6 probe has no way to an IPv4 backend")
    }

    func testMarksNameBackendIndicesTheMarkCanCarry() {
        XCTAssertEqual(ProbeEncapsulator.mark(backendIndex: 5), 0x1bd0_0005)
        XCTAssertNil(ProbeEncapsulator.mark(backendIndex: 0))
        XCTAssertNil(ProbeEncapsulator.mark(backendIndex: 0x0010_0000))
    }

    /// Kernels before 6.6 have no tcx: the program hangs as a clsact filter at lbd's handle
    /// and priority. A later lbd (the first one crashed, its filter left behind) replaces it
    /// rather than adding a second; released, the filter is deleted.
    func testClsactFilterIsReplacedByTheNextProgramAndDeletedWhenReleased() throws {
        let device = uniqueName("pe")
        _ = try shell("ip", "link", "add", device, "type", "veth", "peer", "name", device + "p")
        defer { _ = try? shell("ip", "link", "del", device) }
        let crashed = try encapsulator.attachEgress(interface: device, hook: .clsact)
        XCTAssertEqual(crashed.hook, .clsact)
        XCTAssertEqual(try egressFilters(device), ["probe_encap:[\(encapsulator.program.id)]"])

        let next = try ProbeEncapsulator(sharing: lb.datapath)
        var attachment: ProbeEncapsulator.Attachment? = try next.attachEgress(interface: device, hook: .clsact)
        XCTAssertEqual(try egressFilters(device), ["probe_encap:[\(next.program.id)]"])
        attachment = nil
        XCTAssertNil(attachment)
        XCTAssertEqual(try egressFilters(device), [])
        withExtendedLifetime(crashed) {}
    }

    /// Each BPF filter on `device`'s egress at lbd's handle, as tc names it: "NAME:[ID]".
    private func egressFilters(_ device: String) throws -> [String] {
        try shell("tc", "filter", "show", "dev", device, "egress").split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ").map(String.init)
            guard let handle = words.firstIndex(of: "handle"), words[handle + 1] == "0x1bd" else { return nil }
            return words[handle + 2]
        }
    }
}
