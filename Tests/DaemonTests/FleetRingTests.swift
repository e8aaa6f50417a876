import Balancer
import Daemon
import Datapath
import Foundation
import PacketCraft
import TestSupport
import XCTest

/// Two LB nodes given the same services must send every new flow to the same backend, or
/// a flow the routers move between nodes breaks. Each node here is a real datapath with its
/// own pins and reconciler; they reach the same services by edits in different orders (so
/// their backend and VIP indices differ) and must end with the same ring, slot for slot,
/// and the same encapsulated frame for every new flow.
final class FleetRingTests: XCTestCase {
    private let limits = Limits(maxVIPs: 4, maxBackends: 16, ringSize: 1009, connectionTable: 4096)

    private struct Node {
        let pins: String
        let datapath: BalancerDatapath
        let reconciler: Reconciler
    }

    private func node(_ name: String) throws -> Node {
        let pins = uniqueName("/sys/fs/bpf/lbd-test-fleet-\(name)-")
        let datapath = try BalancerDatapath.open(pinDirectory: pins, limits: try DatapathSettings.limits(limits))
        addTeardownBlock { _ = try? BalancerDatapath.removePins(pinDirectory: pins) }
        let configuration = try Configuration(yaml: """
            interface: eth0
            gateway_mac: 02:00:00:00:00:fe
            encap_source_v4: 172.16.0.0/16
            """)
        try datapath.config.update(key: 0, value: DatapathSettings.runtimeConfig(
            configuration, gateway: try MACAddress("02:00:00:00:00:fe")))
        return Node(pins: pins, datapath: datapath,
                    reconciler: Reconciler(writer: KernelDatapathWriter(datapath: datapath), limits: limits,
                                           quarantine: .zero))
    }

    private func apply(_ yaml: String, to node: Node) async throws {
        _ = try await node.reconciler.apply(try DesiredState(yaml: "services:\n" + yaml, limits: limits))
    }

    /// Each VIP's live ring as the backend address in every slot, read from the kernel.
    private func rings(_ node: Node) throws -> [VIPKey: [IPAddress]] {
        let installed = try InstalledStateReader.read(node.datapath)
        let addresses = Dictionary(uniqueKeysWithValues: installed.backends.map { ($0.index, $0.address) })
        return Dictionary(uniqueKeysWithValues: installed.vips.map { vip in
            (vip.key, vip.liveSlots.map { addresses[$0]! })
        })
    }

    private func indices(_ node: Node) throws -> [IPAddress: UInt32] {
        Dictionary(uniqueKeysWithValues: try InstalledStateReader.read(node.datapath).backends.map { ($0.address, $0.index) })
    }

    /// A SYN from `port` to 10.0.0.10:80: the whole frame the node transmits.
    private func syn(_ node: Node, from port: UInt16) throws -> [UInt8] {
        let result = try node.datapath.testRun(frame: clientFrame(sport: port))
        XCTAssertEqual(result.action, 3, "XDP_TX")
        return result.output
    }

    func testNodesReachingTheSameServicesByDifferentEditsHaveTheSameRings() async throws {
        try requireRoot("the daemon's kernel tests")
        let a = try node("a"), b = try node("b")
        let final = """
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.11, weight: 100 }, { address: 192.0.2.12, weight: 300 },
                            { address: 192.0.2.13, weight: 100, drained: true }, { address: 192.0.2.14, weight: 200 } ]
              - vip: 10.0.0.20:53/udp
                backends: [ { address: 192.0.2.21 }, { address: 192.0.2.22 } ]
            """
        // Node a: the services as they end, in one step.
        try await apply(final, to: a)
        // Node b: another VIP first, backends one by one in another order, one removed and
        // added back, weights changed, a drain.
        try await apply("""
              - vip: 10.0.0.20:53/udp
                backends: [ { address: 192.0.2.22 }, { address: 192.0.2.99 } ]
            """, to: b)
        try await apply("""
              - vip: 10.0.0.20:53/udp
                backends: [ { address: 192.0.2.22 }, { address: 192.0.2.21 } ]
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.14, weight: 50 }, { address: 192.0.2.13 }, { address: 192.0.2.12 } ]
            """, to: b)
        try await apply("""
              - vip: 10.0.0.20:53/udp
                backends: [ { address: 192.0.2.22 }, { address: 192.0.2.21 } ]
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.14, weight: 200 }, { address: 192.0.2.13, drained: true },
                            { address: 192.0.2.11 } ]
            """, to: b)
        try await apply(final, to: b)

        XCTAssertNotEqual(try indices(a), try indices(b), "the edits gave the nodes different backend indices")
        let ringsA = try rings(a), ringsB = try rings(b)
        XCTAssertEqual(Set(ringsA.keys), [try VIPKey("10.0.0.10:80/tcp"), try VIPKey("10.0.0.20:53/udp")])
        for (vip, ring) in ringsA {
            XCTAssertEqual(ring.count, limits.ringSize)
            XCTAssertTrue(ring == ringsB[vip], "VIP \(vip): the nodes' rings differ")
        }
        XCTAssertFalse(ringsA[try VIPKey("10.0.0.10:80/tcp")]!.contains(try IPAddress("192.0.2.13")), "drained")
        var destinations = Set<[UInt8]>()
        for port in UInt16(20000)..<20200 {
            let frame = try syn(a, from: port)
            XCTAssertEqual(frame, try syn(b, from: port), "SYN from port \(port): the nodes send different frames")
            destinations.insert(Array(frame[30..<34]))
        }
        XCTAssertEqual(destinations.count, 3, "200 new flows spread over the three backends taking new flows")
    }
}
