import CLBABI
import PacketCraft
import XCTest

/// QUIC VIPs (LB_VIP_F_QUIC): short headers go to the backend their destination
/// connection ID names (QUIC-LB plaintext: octet 0 config rotation, then the server id),
/// long headers and everything the ID cannot route go by the ring. Exact bytes out,
/// counters, and what the connection table holds.
final class QUICRoutingTests: BalancerTestCase {
    let port: UInt16 = 443
    let quicIndex: UInt32 = 3
    /// The backends' server ids (2 octets) in connection IDs of 8.
    let idA: UInt16 = 0x0a01, idB: UInt16 = 0x0b02

    /// A QUIC VIP whose ring names `ring` only, so a packet the ID does not route is seen
    /// to go there; the server ids name a and b.
    private func addQUICVIP(ring: [UInt32], flags: UInt32 = UInt32(LB_VIP_F_QUIC), generation: UInt32 = 5) throws {
        try lb.addVIP(vip4, port: port, proto: Packet.udp, index: quicIndex, ring: ring, flags: flags,
                      generation: generation, quic: (8, 2))
        try lb.datapath.writeQUICServers(vipIndex: quicIndex, servers: [
            UInt32(idA): lb_quic_server(backend: a, vip_generation: 5, backend_generation: 0),
            UInt32(idB): lb_quic_server(backend: b, vip_generation: 5, backend_generation: 0),
        ])
    }

    /// An 8-octet connection ID: rotation bits 000 and length 8 - 1 in octet 0, the server id, 5 more octets.
    private func connectionID(_ serverID: UInt16, rotation: UInt8 = 0) -> [UInt8] {
        [rotation << 5 | 7] + Packet.be16(serverID) + [0x51, 0x52, 0x53, 0x54, 0x55]
    }

    /// A 1-RTT packet: short header (0b01, 2-octet packet number), the ID, then protected bytes.
    private func shortHeader(_ cid: [UInt8]) -> [UInt8] {
        [0x41] + cid + [0x00, 0x07] + [UInt8](repeating: 0xee, count: 24)
    }

    /// An Initial: long header, version 1, the client's random destination ID (which names b's server id, to show
    /// long headers never route by it), a source ID, then the rest.
    private func initial() -> [UInt8] {
        [0xc3, 0, 0, 0, 1, 8] + connectionID(idB) + [4, 0xc1, 0xc2, 0xc3, 0xc4] + [0x00, 0x41, 0x00]
            + [UInt8](repeating: 0xdd, count: 24)
    }

    private func datagram(from client: [UInt8]? = nil, sport: UInt16 = 50000, payload: [UInt8]) -> [UInt8] {
        let src = client ?? client4
        let segment = Packet.udp(src: src, dst: vip4, sport: sport, dport: port, payload: payload)
        return Packet.ipv4(src: src, dst: vip4, proto: Packet.udp, payload: segment)
    }

    private func entry(from client: [UInt8]? = nil, sport: UInt16 = 50000) throws -> [UInt32] {
        try lb.connectionBackends(lb.flowKey(src: client ?? client4, dst: vip4, sport: sport, dport: port, proto: Packet.udp))
    }

    func testAnInitialGoesByTheRingAndIsRemembered() throws {
        try addQUICVIP(ring: [a])
        let packet = datagram(payload: initial())
        try assertSent(packet, sport: 50000, to: backendA,
                       counting: [LB_STAT_CONN_MISS_UDP: 1, LB_STAT_NEW_FLOW: 1])
        XCTAssertEqual(try entry(), [a])
    }

    func testAShortHeaderGoesToTheBackendItsIDNamesWhateverTheRingSays() throws {
        try addQUICVIP(ring: [a])
        let packet = datagram(payload: shortHeader(connectionID(idB)))
        try assertSent(packet, sport: 50000, to: backendB,
                       counting: [LB_STAT_CONN_MISS_UDP: 1, LB_STAT_QUIC_ROUTED: 1])
        XCTAssertEqual(try entry(), [], "a connection ID routes every packet: nothing to remember")
        XCTAssertEqual(try lb.datapath.backendTraffic(index: b).packets, 1)
    }

    func testAMigratedClientKeepsItsBackend() throws {
        try addQUICVIP(ring: [a])
        // The connection's first packets, then the same ID from a new address and port (a NAT rebinding).
        let cid = connectionID(idB)
        try assertSent(datagram(sport: 50000, payload: shortHeader(cid)), sport: 50000, to: backendB)
        let moved = Packet.ipv4("203.0.113.99")
        try assertSent(datagram(from: moved, sport: 61000, payload: shortHeader(cid)), from: moved, sport: 61000,
                       to: backendB, counting: [LB_STAT_CONN_MISS_UDP: 1, LB_STAT_QUIC_ROUTED: 1])
    }

    func testTheSameMigrationOnAPlainUDPVIPGoesByTheRing() throws {
        try addQUICVIP(ring: [a], flags: 0)
        let moved = Packet.ipv4("203.0.113.99")
        try assertSent(datagram(from: moved, sport: 61000, payload: shortHeader(connectionID(idB))), from: moved,
                       sport: 61000, to: backendA, counting: [LB_STAT_CONN_MISS_UDP: 1, LB_STAT_NEW_FLOW: 1])
        XCTAssertEqual(try entry(from: moved, sport: 61000), [a])
    }

    func testAnUnknownServerIDFallsBackToTheRingAndIsCounted() throws {
        try addQUICVIP(ring: [a])
        let packet = datagram(payload: shortHeader(connectionID(0x0c03)))
        try assertSent(packet, sport: 50000, to: backendA,
                       counting: [LB_STAT_CONN_MISS_UDP: 1, LB_STAT_QUIC_FALLBACK: 1, LB_STAT_NEW_FLOW: 1])
        XCTAssertEqual(try entry(), [a])
    }

    func testAnIDNamingABackendThatIsDownFallsBackToTheRing() throws {
        try addQUICVIP(ring: [a])
        try lb.setBackend(b, backendB, up: false)
        try assertSent(datagram(payload: shortHeader(connectionID(idB))), sport: 50000, to: backendA,
                       counting: [LB_STAT_CONN_MISS_UDP: 1, LB_STAT_QUIC_FALLBACK: 1, LB_STAT_NEW_FLOW: 1])
    }

    func testAnIDWrittenForAnotherGenerationOfTheIndexFallsBack() throws {
        // The entries carry generation 5; the index now serves generation 6 (another VIP).
        try addQUICVIP(ring: [a], generation: 6)
        try assertSent(datagram(payload: shortHeader(connectionID(idB))), sport: 50000, to: backendA,
                       counting: [LB_STAT_CONN_MISS_UDP: 1, LB_STAT_QUIC_FALLBACK: 1, LB_STAT_NEW_FLOW: 1])
    }

    func testAnUnroutableIDFallsBackToTheRing() throws {
        try addQUICVIP(ring: [a])
        try assertSent(datagram(payload: shortHeader(connectionID(idB, rotation: 7))), sport: 50000, to: backendA,
                       counting: [LB_STAT_CONN_MISS_UDP: 1, LB_STAT_QUIC_FALLBACK: 1, LB_STAT_NEW_FLOW: 1])
    }

    func testAShortHeaderTooShortForTheIDIsMalformedAndGoesByTheRing() throws {
        try addQUICVIP(ring: [a])
        // Header octet and 7 of the 8 ID octets; then a datagram with no payload at all.
        let truncated = datagram(payload: [0x41] + Array(connectionID(idB).prefix(7)))
        try assertSent(truncated, sport: 50000, to: backendA,
                       counting: [LB_STAT_CONN_MISS_UDP: 1, LB_STAT_QUIC_MALFORMED: 1, LB_STAT_NEW_FLOW: 1])
        let empty = datagram(sport: 50001, payload: [])
        try assertSent(empty, sport: 50001, to: backendA,
                       counting: [LB_STAT_CONN_MISS_UDP: 1, LB_STAT_QUIC_MALFORMED: 1, LB_STAT_NEW_FLOW: 1])
    }

    func testAShortHeaderOfExactlyTheIDIsRouted() throws {
        try addQUICVIP(ring: [a])
        try assertSent(datagram(payload: [0x41] + connectionID(idB)), sport: 50000, to: backendB,
                       counting: [LB_STAT_CONN_MISS_UDP: 1, LB_STAT_QUIC_ROUTED: 1])
    }

    func testAnEstablishedFlowKeepsItsEntry() throws {
        // The Initial chose a by the ring; the short headers of that 5-tuple stay with its entry.
        try addQUICVIP(ring: [a])
        try lb.run(frame(datagram(payload: initial())))
        try assertSent(datagram(payload: shortHeader(connectionID(idA))), sport: 50000, to: backendA,
                       counting: [LB_STAT_CONN_HIT: 1])
    }

    func testIPv6ShortHeadersRouteByID() throws {
        try lb.addVIP(vip6, port: port, proto: Packet.udp, index: quicIndex, ring: [c6], flags: UInt32(LB_VIP_F_QUIC),
                      quic: (8, 2))
        try lb.datapath.writeQUICServers(vipIndex: quicIndex, servers: [
            UInt32(idB): lb_quic_server(backend: d6, vip_generation: 0, backend_generation: 0),
        ])
        let segment = Packet.udp(src: client6, dst: vip6, sport: 50000, dport: port, payload: shortHeader(connectionID(idB)))
        let packet = Packet.ipv6(src: client6, dst: vip6, nextHeader: Packet.udp, payload: segment)
        try assertRun(frame(packet), action: XDP_TX_, output: ip6ip6(packet, client: client6, sport: 50000, backend: backendD6))
    }
}
