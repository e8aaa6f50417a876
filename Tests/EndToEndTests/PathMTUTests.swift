import XCTest

/// The backends sit behind a 1400-byte path and lbd's `mtu` says so: the client's
/// full-size segments, too big once encapsulated, are answered by lbd with ICMP
/// fragmentation-needed / packet-too-big, which reaches the client; it lowers its path
/// MTU to the VIP to lbd's figure (mtu − 20 toward IPv4 backends, mtu − 40 toward IPv6)
/// and the transfer completes.
final class PathMTUTests: XCTestCase {
    func testTooBigReachesTheClientWhenTheBackendPathMTUIsSmaller() async throws {
        let topology = try Topology(self, backends: 1)
        try topology.setBackendPathMTU(1400)
        let cases: [(vip: String, family: Topology.Family, clientMTU: Int)] = [
            (try topology.value("VIP4"), .v4, 1380),
            (try topology.value("VIP6"), .v6, 1360),
        ]
        let services = try cases.map {
            Service($0.vip, port: try topology.httpPort, "tcp", backends: [(try topology.backendAddress(1, $0.family), 100)])
        }
        _ = try await LBD(self, on: topology, services: services, mtu: 1400)

        for test in cases {
            XCTAssertNil(try cachedPathMTU(topology, to: test.vip), "no path MTU learnt before the transfer")
            XCTAssertEqual(try topology.upload(topology.url(test.vip), bytes: 200_000), "b1 received 200000 bytes")
            XCTAssertEqual(try cachedPathMTU(topology, to: test.vip), test.clientMTU, "the client's path MTU to \(test.vip)")
        }
    }

    /// The path MTU the client's kernel learnt for `address` (`ip route get`), nil if none.
    private func cachedPathMTU(_ topology: Topology, to address: String) throws -> Int? {
        let words = try topology.exec("client", ["ip", "route", "get", address]).split(whereSeparator: \.isWhitespace)
        return words.firstIndex(of: "mtu").flatMap { Int(words[$0 + 1]) }
    }
}
