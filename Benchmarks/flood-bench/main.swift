import Balancer
import CLBABI
import Daemon
import Datapath
import DatapathBench
import Foundation
import PacketCraft
import TestSupport

// The SYN-flood drill (`make bench-flood`, issue 17): established flows, then a spoofed SYN
// flood at the datapath's full rate while the VIP's ring changes, then every established
// flow's next packet: does it still reach its backend? Run twice on a fresh balancer each
// time: with flood.new_flows_per_cpu at lbd's default, then at 0 (no protection), which
// must lose flows or the drill proves nothing.
//
// Everything is lbd's own path but the packets: the services go in through the reconciler
// and KernelDatapathWriter, the settings through DatapathSettings; packets through
// BPF_PROG_TEST_RUN, the flood through bench.bpf.c's wrapper (the frame restored every run,
// its source address a scrambled counter: a distinct source per SYN). Pinned to one CPU
// (taskset): the limit is per CPU, and one CPU is the worst case for it.
//
// LBD_FLOOD_TABLE: connection-table entries (default lbd's 1,000,000); LBD_FLOOD_SYNS: the
// flood's SYNs (default 4,000,000: four times the table, so without protection it fills it).

let environment = ProcessInfo.processInfo.environment
let tableSize = Int(environment["LBD_FLOOD_TABLE"] ?? "") ?? 1_000_000
let floodSYNs = UInt32(environment["LBD_FLOOD_SYNS"] ?? "") ?? 4_000_000
let establishedFlows = 10_000
let chunk: UInt32 = 250_000
/// The flood's SYNs before the reconciler adds a backend.
let ringChangeAfter = floodSYNs / 4

let limits = Limits(maxVIPs: 4, maxBackends: 8, connectionTable: tableSize)
let vip = try VIPKey("10.0.0.10:80/tcp")
let backends = try ["192.0.2.11", "192.0.2.12", "192.0.2.13"].map { try IPAddress($0) }
let lbMAC = Packet.mac("02:00:00:00:00:01"), routerMAC = Packet.mac("02:00:00:00:00:02")
let client = Packet.ipv4("198.51.100.7"), vipAddress = Packet.ipv4("10.0.0.10")

func tcpFrame(from source: [UInt8], sport: UInt16, flags: UInt8, payload: [UInt8] = []) -> [UInt8] {
    let segment = Packet.tcp(src: source, dst: vipAddress, sport: sport, dport: 80, flags: flags, payload: payload)
    return Packet.ethernet(dst: lbMAC, src: routerMAC, type: Packet.ethIPv4,
                           payload: Packet.ipv4(src: source, dst: vipAddress, proto: Packet.tcp, payload: segment))
}

/// The outer destination of an encapsulated frame: the backend it was sent to.
func backend(of result: TestRunResult) -> [UInt8]? {
    result.action == 3 && result.output.count >= 34 ? Array(result.output[30..<34]) : nil
}

func services(backendCount: Int) throws -> DesiredState {
    try DesiredState(validating: [ServiceSpec(vip: vip, backends: backends.prefix(backendCount).map { BackendSpec(address: $0) })],
                     limits: limits)
}

struct DrillResult {
    var floodNs: Double = 0
    var floodEntries: UInt64 = 0
    var floodStateless: UInt64 = 0
    var evicted = 0
    var lost = 0
}

func drill(newFlowsPerCPU: Int) async throws -> DrillResult {
    let datapath = try BalancerDatapath.loadUnpinned(limits: try DatapathSettings.limits(limits))
    let configuration = try Configuration(yaml: "interface: eth0\nencap_source_v4: 172.16.0.0/16\n")
    try datapath.config.update(key: 0, value: DatapathSettings.runtimeConfig(configuration, gateway: try MACAddress("02:00:00:00:00:fe")))
    try datapath.writeFloodSettings(DatapathSettings.floodConfig(FloodSettings(newFlowsPerCPU: newFlowsPerCPU)))
    let reconciler = Reconciler(writer: KernelDatapathWriter(datapath: datapath), limits: limits)
    _ = try await reconciler.apply(try services(backendCount: 2))

    // Established: each flow's SYN, then its ACK, on the backend the SYN went to.
    var backendOf: [UInt16: [UInt8]] = [:]
    for sport in UInt16(20000)..<UInt16(20000 + establishedFlows) {
        let syn = try datapath.testRun(frame: tcpFrame(from: client, sport: sport, flags: Packet.TCPFlag.syn))
        let ack = try datapath.testRun(frame: tcpFrame(from: client, sport: sport, flags: Packet.TCPFlag.ack))
        guard let chosen = backend(of: syn), backend(of: ack) == chosen else { fatalError("flow \(sport) was not established") }
        backendOf[sport] = chosen
    }

    // The flood, with a backend added (a ring change) a quarter of the way in.
    let harness = try BenchHarness.load()
    try harness.setTarget(programFD: datapath.programFD)
    try harness.setFrame(tcpFrame(from: Packet.ipv4("203.0.113.1"), sport: 1234, flags: Packet.TCPFlag.syn), varyOffset: 26,
                         scramble: true)
    var result = DrillResult()
    let entriesBefore = try datapath.counter(LB_STAT_NEW_FLOW), statelessBefore = try datapath.counter(LB_STAT_FLOOD_SYN)
    var sent: UInt32 = 0
    while sent < floodSYNs {
        if sent == ringChangeAfter { _ = try await reconciler.apply(try services(backendCount: 3)) }
        let runs = min(chunk, floodSYNs - sent, sent < ringChangeAfter ? ringChangeAfter - sent : .max)
        let run = try harness.run(repeat: runs)
        guard run.action == 3 else { fatalError("a flood SYN was not sent to a backend: action \(run.action)") }
        result.floodNs += Double(run.durationNs) * Double(runs)
        sent += runs
    }
    result.floodEntries = try datapath.counter(LB_STAT_NEW_FLOW) - entriesBefore
    result.floodStateless = try datapath.counter(LB_STAT_FLOOD_SYN) - statelessBefore

    // Every established flow's next packet.
    for (sport, chosen) in backendOf.sorted(by: { $0.key < $1.key }) {
        var key = lb_flow_key()
        key.src = ABIAddress.words(client)
        key.dst = ABIAddress.words(vipAddress)
        key.sport = sport.bigEndian
        key.dport = UInt16(80).bigEndian
        key.proto = Packet.tcp
        key.family = UInt8(LB_FAMILY_V4)
        if try datapath.connTable.lookup(key: key) == nil { result.evicted += 1 }
        let next = try datapath.testRun(frame: tcpFrame(from: client, sport: sport, flags: Packet.TCPFlag.ack,
                                                        payload: [UInt8](repeating: 0x61, count: 16)))
        if backend(of: next) != chosen { result.lost += 1 }
    }
    return result
}

do {
    try requireRoot("the flood drill (BPF programs)")
    print("flood drill: \(establishedFlows) established flows (SYN then ACK), then \(floodSYNs) spoofed SYNs from distinct "
          + "sources on one CPU; backend \(backends[2]) added through the reconciler after \(ringChangeAfter) of them")
    print("connection table: \(tableSize) entries, so the flood can fill it \(Int(floodSYNs) / tableSize) times over; "
          + "ring: \(limits.ringSize) slots, 2 backends then 3")
    for limit in [FloodSettings.defaultNewFlowsPerCPU, 0] {
        let result = try await drill(newFlowsPerCPU: limit)
        let rate = Double(floodSYNs) / result.floodNs * 1e9
        print("flood.new_flows_per_cpu: \(limit)\(limit == 0 ? " (protection off)" : "")")
        print(String(format: "  flood: %u SYNs at %.2f M packets/s (%.0f ns each, %.2f s in the datapath)",
                     floodSYNs, rate / 1e6, result.floodNs / Double(floodSYNs), result.floodNs / 1e9))
        print("  flood SYNs that got entries: \(result.floodEntries) of \(floodSYNs) "
              + "(sent by the ring without one: \(result.floodStateless))")
        print("  established flows that lost their backend: \(result.lost) of \(establishedFlows) "
              + "(entries evicted: \(result.evicted))")
    }
} catch {
    FileHandle.standardError.write(Data("flood-bench: \(error)\n".utf8))
    exit(1)
}
