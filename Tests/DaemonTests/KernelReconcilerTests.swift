import Balancer
import CLBABI
import Daemon
import Datapath
import Foundation
import Maglev
import PacketCraft
import TestSupport
import XCTest

/// The reconciler driving the real kernel maps: after each change the maps are read back
/// and compared, and packets through BPF_PROG_TEST_RUN land where the tables say.
final class KernelReconcilerTests: XCTestCase {
    private let limits = Limits(maxVIPs: 4, maxBackends: 8, ringSize: 1009, connectionTable: 4096)
    private var pins = ""
    private var datapath: BalancerDatapath!
    private var reconciler: Reconciler!
    private let vip = try! VIPKey("10.0.0.10:80/tcp")
    private let backends = ["192.0.2.11", "192.0.2.12", "192.0.2.13"].map { try! IPAddress($0) }

    override func setUpWithError() throws {
        try requireRoot("the daemon's kernel tests")
        pins = uniqueName("/sys/fs/bpf/lbd-test-reconciler-")
        datapath = try BalancerDatapath.open(pinDirectory: pins, limits: try DatapathSettings.limits(limits))
        let configuration = try Configuration(yaml: """
            interface: eth0
            gateway_mac: 02:00:00:00:00:fe
            encap_source_v4: 172.16.0.0/16
            """)
        try datapath.config.update(key: 0, value: DatapathSettings.runtimeConfig(
            configuration, gateway: try MACAddress("02:00:00:00:00:fe")))
        reconciler = Reconciler(writer: KernelDatapathWriter(datapath: datapath), limits: limits)
    }

    override func tearDown() {
        reconciler = nil
        datapath = nil
        _ = try? BalancerDatapath.removePins(pinDirectory: pins)
    }

    private func state(weights: [Int], drained: Set<Int> = []) throws -> DesiredState {
        let specs = weights.enumerated().map { i, weight in
            BackendSpec(address: backends[i], weight: weight, drained: drained.contains(i))
        }
        return try DesiredState(validating: [ServiceSpec(vip: vip, hash: .fiveTuple, udpIdleTimeout: nil, backends: specs)],
                                limits: limits)
    }

    /// The Maglev table of the backends that take new flows, as backend addresses per slot.
    private func expectedRing(_ active: [Int: Int]) throws -> [IPAddress] {
        let table = try MaglevTable(backends: active.map { try MaglevBackend(id: backends[$0.key].identity, weight: $0.value) },
                                    size: limits.ringSize)
        return table.slots.map { position in backends.first { $0.identity == table.backends[Int(position)].id }! }
    }

    /// The live ring of the VIP, read from the kernel, as backend addresses.
    private func installedRing() throws -> [IPAddress] {
        let installed = try InstalledStateReader.read(datapath)
        let addresses = Dictionary(uniqueKeysWithValues: installed.backends.map { ($0.index, $0.address) })
        let entry = try XCTUnwrap(installed.vips.first { $0.key == vip })
        return entry.liveSlots.map { addresses[$0]! }
    }

    private func sendSYN(from port: UInt16) throws -> [UInt8] {
        let result = try datapath.testRun(frame: clientFrame(sport: port))
        XCTAssertEqual(result.action, 3)
        return Array(result.output[30..<34])
    }

    func testAppliedStateIsWhatTheMapsHoldAndWherePacketsGo() async throws {
        _ = try await reconciler.apply(try state(weights: [100, 100, 200]))
        XCTAssertEqual(try installedRing(), try expectedRing([0: 100, 1: 100, 2: 200]))
        var seen = Set<[UInt8]>()
        for port in UInt16(30000)..<30060 { seen.insert(try sendSYN(from: port)) }
        XCTAssertEqual(seen, Set(backends.map(\.bytes)), "60 new flows reach all three backends")
    }

    func testDrainRewritesOnlyTheChangedSlotsAndKeepsTheBackendUp() async throws {
        _ = try await reconciler.apply(try state(weights: [100, 100, 100]))
        let before = await reconciler.stats
        _ = try await reconciler.apply(try state(weights: [100, 100, 100], drained: [1]))
        XCTAssertEqual(try installedRing(), try expectedRing([0: 100, 2: 100]))
        let installed = try InstalledStateReader.read(datapath)
        XCTAssertEqual(installed.backends.first { $0.address == backends[1] }?.up, true, "drained, not down")
        let written = await reconciler.stats.ringSlotsWritten - before.ringSlotsWritten
        XCTAssertLessThan(written, limits.ringSize, "a drain rewrites the changed slots, not the ring")
    }

    func testBackendDownIsFlaggedAndLeavesTheRing() async throws {
        _ = try await reconciler.apply(try state(weights: [100, 100, 100]))
        _ = try await reconciler.setHealth(backends[2], up: false)
        XCTAssertEqual(try installedRing(), try expectedRing([0: 100, 1: 100]))
        let installed = try InstalledStateReader.read(datapath)
        XCTAssertEqual(installed.backends.first { $0.address == backends[2] }?.up, false)
        for port in UInt16(40000)..<40030 { XCTAssertNotEqual(try sendSYN(from: port), backends[2].bytes) }
    }

    func testARestartedDaemonAdoptsTheMapsAndWritesNothing() async throws {
        let desired = try state(weights: [100, 50, 200])
        _ = try await reconciler.apply(desired)
        let ring = try installedRing()
        let again = try BalancerDatapath.open(pinDirectory: pins, limits: try DatapathSettings.limits(limits))
        XCTAssertTrue(again.adopted)
        let successor = Reconciler(writer: KernelDatapathWriter(datapath: again), limits: limits)
        try await successor.adopt(try InstalledStateReader.read(again))
        let summary = try await successor.apply(desired)
        XCTAssertEqual(summary.writes, 0, "nothing to write: the maps already hold the state")
        XCTAssertEqual(try installedRing(), ring)
    }

    // MARK: Reused indices

    private let lbMAC = Packet.mac("02:00:00:00:00:01"), gatewayMAC = Packet.mac("02:00:00:00:00:fe")

    private func tcpFrame(sport: UInt16, flags: UInt8) -> (frame: [UInt8], inner: [UInt8]) {
        (clientFrame(sport: sport, flags: flags), clientPacket(sport: sport, flags: flags))
    }

    /// The inner packet behind an outer IPv4 header from `source` to `backend`, toward the gateway.
    private func encapsulated(_ inner: [UInt8], source: [UInt8], backend: IPAddress) -> [UInt8] {
        let outer = Packet.ipv4Header(src: source, dst: backend.bytes, proto: Packet.ipip, payloadLength: inner.count,
                                      flagsAndOffset: 0)
        return Packet.ethernet(dst: gatewayMAC, src: lbMAC, type: Packet.ethIPv4, payload: outer + inner)
    }

    private func services(_ specs: [(VIPKey, [IPAddress])]) throws -> DesiredState {
        try DesiredState(validating: specs.map { vip, addresses in
            ServiceSpec(vip: vip, hash: .fiveTuple, udpIdleTimeout: nil,
                        backends: addresses.map { BackendSpec(address: $0, weight: 100, drained: false) })
        }, limits: limits)
    }

    /// A backend removed from one VIP, its index given after the quarantine to a backend of
    /// another VIP: the removed backend's established flow is re-picked within its own VIP,
    /// never sent to the newcomer.
    func testAFlowOfARemovedBackendStaysInItsVIPWhenTheIndexIsReused() async throws {
        try await assertReuseRepicksWithinTheVIP(restartBeforeReuse: false)
    }

    /// The same with a daemon restart between the removal and the reuse: the generation
    /// is read back from the cleared entry.
    func testAFlowOfARemovedBackendStaysInItsVIPAcrossARestart() async throws {
        try await assertReuseRepicksWithinTheVIP(restartBeforeReuse: true)
    }

    private func assertReuseRepicksWithinTheVIP(restartBeforeReuse: Bool) async throws {
        var reconciler = Reconciler(writer: KernelDatapathWriter(datapath: datapath), limits: limits, quarantine: .zero)
        let other = try VIPKey("10.0.0.20:80/tcp"), newcomer = try IPAddress("192.0.2.99")
        _ = try await reconciler.apply(try services([(vip, [backends[0], backends[1]])]))
        // A flow that the ring gives to backends[0].
        let port = try XCTUnwrap((UInt16(30000)..<30100).first { try sendSYN(from: $0) == backends[0].bytes })
        let syn = try datapath.testRun(frame: tcpFrame(sport: port, flags: Packet.TCPFlag.syn).frame)
        let outerSource = Array(syn.output[26..<30])
        let before = await reconciler.snapshot()
        let removedIndex = try XCTUnwrap(before.backends.first { $0.address == backends[0] }?.index)

        _ = try await reconciler.apply(try services([(vip, [backends[1]])]))
        if restartBeforeReuse {
            reconciler = Reconciler(writer: KernelDatapathWriter(datapath: datapath), limits: limits, quarantine: .zero)
            try await reconciler.adopt(try InstalledStateReader.read(datapath))
        }
        _ = try await reconciler.apply(try services([(vip, [backends[1]]), (other, [newcomer])]))
        let reused = await reconciler.snapshot().backends.first { $0.address == newcomer }?.index
        XCTAssertEqual(reused, removedIndex, "the scenario needs the index reused")

        let ack = tcpFrame(sport: port, flags: Packet.TCPFlag.ack)
        let result = try datapath.testRun(frame: ack.frame)
        XCTAssertEqual(result.action, 3)
        XCTAssertEqual(result.output, encapsulated(ack.inner, source: outerSource, backend: backends[1]))
        XCTAssertEqual(try datapath.backendTraffic(index: removedIndex).packets, 0, "nothing reached the newcomer")
    }

    /// The traffic counters of an index start from zero for its next owner, backend or VIP.
    func testCountersOfAReusedIndexStartAtZero() async throws {
        let reconciler = Reconciler(writer: KernelDatapathWriter(datapath: datapath), limits: limits, quarantine: .zero)
        _ = try await reconciler.apply(try services([(vip, [backends[0]])]))
        for port in UInt16(30000)..<30005 { _ = try sendSYN(from: port) }
        XCTAssertEqual(try datapath.backendTraffic(index: 1).packets, 5)
        XCTAssertEqual(try datapath.vipTraffic(index: 0).packets, 5)
        XCTAssertEqual(try flowCounters(vipIndex: 0), [5, 5, 0])

        let successor = try VIPKey("10.0.0.30:80/tcp")
        _ = try await reconciler.apply(DesiredState())
        _ = try await reconciler.apply(try services([(successor, [backends[2]])]))
        let snapshot = await reconciler.snapshot()
        XCTAssertEqual(snapshot.vips.map(\.index), [0], "the scenario needs the VIP index reused")
        XCTAssertEqual(snapshot.backends.map(\.index), [1], "the scenario needs the backend index reused")
        XCTAssertEqual(try datapath.backendTraffic(index: 1).packets, 0)
        XCTAssertEqual(try datapath.backendTraffic(index: 1).bytes, 0)
        XCTAssertEqual(try datapath.vipTraffic(index: 0).packets, 0)
        XCTAssertEqual(try datapath.vipTraffic(index: 0).bytes, 0)
        XCTAssertEqual(try flowCounters(vipIndex: 0), [0, 0, 0])
    }

    /// SYNs, new flows and misses of a VIP index.
    private func flowCounters(vipIndex: UInt32) throws -> [UInt64] {
        let flows = try datapath.vipFlows(index: vipIndex)
        return [flows.syns, flows.new_flows, flows.misses]
    }

    func testRemovingTheVIPLeavesNothingToMatch() async throws {
        _ = try await reconciler.apply(try state(weights: [100]))
        _ = try await reconciler.apply(DesiredState())
        XCTAssertEqual(try datapath.vipMap.keys().count, 0)
        XCTAssertEqual(try datapath.vipAddrs.keys().count, 0)
    }
}

/// The Balancer module mirrors ABI constants it cannot import.
final class ABIAgreementTests: XCTestCase {
    func testVIPFlagsAreTheABIsFlags() {
        XCTAssertEqual(VIPFlags.hashSourceOnly.rawValue, UInt32(LB_VIP_F_HASH_SOURCE_ONLY))
        XCTAssertEqual(VIPFlags.noBackend.rawValue, UInt32(LB_VIP_F_NO_BACKEND))
    }

    func testRuntimeConfigCarriesTheConfiguration() throws {
        let configuration = try Configuration(yaml: """
            interface: eth0
            gateway_mac: 02:00:00:00:00:fe
            encap_source_v4: 172.16.0.0/16
            encap_source_v6: fd00:1bd::/64
            mtu: 9000
            udp_idle_timeout: 2m
            """)
        let cfg = DatapathSettings.runtimeConfig(configuration, gateway: try MACAddress("02:00:00:00:00:fe"))
        XCTAssertEqual(withUnsafeBytes(of: cfg.gateway_mac) { Array($0) }, [2, 0, 0, 0, 0, 0xfe])
        XCTAssertEqual(cfg.mtu, 9000)
        XCTAssertEqual(cfg.udp_idle_timeout_s, 120)
        XCTAssertEqual(withUnsafeBytes(of: cfg.encap_src_v4) { Array($0) }, [172, 16, 0, 0])
        XCTAssertEqual(withUnsafeBytes(of: cfg.encap_src_v4_mask) { Array($0) }, [255, 255, 0, 0])
        XCTAssertEqual(withUnsafeBytes(of: cfg.encap_src_v6_mask) { Array($0) },
                       [UInt8](repeating: 0xff, count: 8) + [UInt8](repeating: 0, count: 8))
    }
}

