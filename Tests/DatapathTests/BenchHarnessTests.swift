import CLBABI
import Datapath
import DatapathBench
import Foundation
import PacketCraft
import TestSupport
import XCTest

/// The pieces of `make bench-e2e`'s LB-only rate: the trivial encapsulator (its exact
/// output), the harness's flow cycling, and live frames reaching the sink on a veth.
final class BenchHarnessTests: XCTestCase {
    let lbMAC = Packet.mac("02:00:00:00:00:01"), routerMAC = Packet.mac("02:00:00:00:00:02")
    let client = Packet.ipv4("10.111.1.2"), vip = Packet.ipv4("10.112.0.10")

    override func setUpWithError() throws {
        try requireRoot()
    }

    private func tcpFrame(tos: UInt8 = 0) -> [UInt8] {
        let segment = Packet.tcp(src: client, dst: vip, sport: 40000, dport: 80, flags: Packet.TCPFlag.ack)
        return Packet.ethernet(dst: lbMAC, src: routerMAC, type: Packet.ethIPv4,
                               payload: Packet.ipv4(src: client, dst: vip, proto: Packet.tcp, payload: segment, tos: tos))
    }

    /// IPIP to the built-in backend, from the built-in source, toward the built-in gateway;
    /// the inner packet byte for byte, its TOS copied out.
    func testTrivialEncapsulatorWritesTheOuterHeader() throws {
        let trivial = try BenchHarness.loadTrivialEncap()
        let input = tcpFrame(tos: 0x28)
        let inner = Array(input[14...])
        let result = try trivial.testRun(frame: input)
        let outer = Packet.ipv4(src: Packet.ipv4("10.113.0.1"), dst: Packet.ipv4("10.111.101.2"), proto: Packet.ipip,
                                payload: inner, tos: 0x28, flagsAndOffset: 0)
        XCTAssertEqual(result.action, XDP_TX_)
        XCTAssertEqual(result.output, Packet.ethernet(dst: Packet.mac("02:00:00:00:00:fe"), src: lbMAC, type: Packet.ethIPv4, payload: outer))
    }

    func testTrivialEncapsulatorPassesWhatIsNotIPv4() throws {
        let trivial = try BenchHarness.loadTrivialEncap()
        let v6 = Packet.ethernet(dst: lbMAC, src: routerMAC, type: Packet.ethIPv6,
                                 payload: Packet.ipv6(src: Packet.ipv6("2001:db8::1"), dst: Packet.ipv6("2001:db8::2"),
                                                      nextHeader: Packet.udp, payload: [0, 1, 0, 2, 0, 8, 0, 0]))
        let result = try trivial.testRun(frame: v6)
        XCTAssertEqual(result.action, XDP_PASS_)
        XCTAssertEqual(result.output, v6)
    }

    /// With a mask the varied bytes are the template's XOR (counter & mask): the runs cycle
    /// through mask + 1 source ports, and the destination port next to them stays.
    func testVaryMaskCyclesThroughFlows() throws {
        let harness = try BenchHarness.load()
        try harness.setTarget(harness.noop)
        let frame = tcpFrame()
        try harness.setFrame(frame, varyOffset: 34, varyMask: 3)
        var ports: [UInt16] = []
        for _ in 0..<6 {
            let output = try harness.run(repeat: 1).output
            XCTAssertEqual(Array(output[36..<38]), Packet.be16(80), "the destination port is kept")
            ports.append(UInt16(output[34]) << 8 | UInt16(output[35]))
        }
        let base = UInt16(40000)
        // The counter's low byte lands on the port's first (high) byte.
        XCTAssertEqual(ports, [1, 2, 3, 0, 1, 2].map { base ^ (UInt16($0) << 8) })
    }

    /// Scrambled, the varied word is the counter times LB_BENCH_SCRAMBLE_FACTOR (mod 2^32):
    /// a distinct source address per run, spread over all its bits.
    func testScrambleSpreadsTheCounter() throws {
        let harness = try BenchHarness.load()
        try harness.setTarget(harness.noop)
        try harness.setFrame(tcpFrame(), varyOffset: 26, scramble: true)
        for run in UInt32(1)...3 {
            let output = try harness.run(repeat: 1).output
            let written = (run &* LB_BENCH_SCRAMBLE_FACTOR).littleEndian
            XCTAssertEqual(Array(output[26..<30]), withUnsafeBytes(of: written) { Array($0) }, "run \(run)")
        }
    }

    /// Live frames through the wrapper and the trivial encapsulator really leave the veth:
    /// every one arrives at bench_sink on the peer.
    func testLiveFramesArriveAtTheSink() throws {
        let namespace = uniqueName("lbdt-live-")
        try shell("/bin/sh", "-c", """
            ip netns add \(namespace) && \
            ip netns exec \(namespace) sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 && \
            ip -n \(namespace) link add gen0 type veth peer name gen1 && \
            ip -n \(namespace) link set gen0 up && ip -n \(namespace) link set gen1 up
            """)
        defer { _ = try? shell("ip", "netns", "del", namespace) }
        let harness = try BenchHarness.load()
        let trivial = try BenchHarness.loadTrivialEncap()
        try harness.setTarget(trivial)
        let frame = tcpFrame()
        try harness.setFrame(frame)
        let result = try inNetworkNamespace(namespace) { () throws -> LiveRunResult in
            try harness.sink.attachXDP(interface: "gen1", mode: .native)
            return try harness.wrapper.testRunLive(frame: frame, repeat: 10_000, ingressIfindex: XDP.interfaceIndex("gen0"))
        }
        XCTAssertEqual(try harness.sunkFrames(), 10_000)
        XCTAssertGreaterThan(result.kernelNsPerFrame, 0)
        XCTAssertGreaterThan(result.wallNs, 0)
    }
}
