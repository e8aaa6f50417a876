import CLBABI
import Datapath
import DatapathBench
import Foundation
import PacketCraft

// The LB-only packet rate of `make bench-e2e`: small TCP frames generated in the kernel
// with BPF_F_TEST_XDP_LIVE_FRAMES on one CPU, run through the program under test and
// really sent (XDP_TX out of a veth; bench_sink counts and drops them on the peer).
//
//     lb-only-bench --interface IF --peer PEER [--repeat N] [--runs R] [--flows F] [--only CASE,...]
//
// Run it inside a network namespace holding the veth pair IF–PEER (the live-frames
// context names its device by index in the caller's namespace), pinned to one CPU with
// taskset: the generator, the program, the transmit and the peer's receive all run on
// that CPU, so a rate is packets per second of one core.
//
// Every frame goes through bpf/bench/bench.bpf.c's wrapper, which rewrites it from the
// template before tail-calling the program under test — recycled pages keep the previous
// run's rewrite (the encapsulated frame). The targets, interleaved run by run:
//   generator   bench_noop: the unchanged frame back out (the generator's own ceiling)
//   trivial     bpf/bench/trivial_encap.bpf.c: IPIP to one fixed backend, nothing else
//   lbd         the balancer, one VIP over 2 backends (ring 65537, table 1M, as lbd's
//               defaults): ACKs of `flows` established connections, the source port
//               cycling through them, every one already in the connection table
//   lbd-syn     the balancer on SYNs, every one from a new client address: a hash, a
//               Maglev lookup and a connection-table insert per packet
// An untimed round comes first: the connection table full and churned, as in service.
// Median of `runs` runs of `repeat` frames each. The rate is 1 / the kernel's time per
// frame (BPF_PROG_TEST_RUN's duration), which excludes the time the run yielded the CPU.

struct Options {
    var interface = ""
    var peer = ""
    var repeatCount: UInt32 = 5_000_000
    var runs = 3
    var flows: UInt32 = 4096
    /// The cases to time (all by default): e.g. one of them alone under `perf record`.
    var only: Set<String> = []

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw BenchFailure("\(flag) needs a value") }
            switch flag {
            case "--interface": interface = value
            case "--peer": peer = value
            case "--repeat": repeatCount = try Self.number(flag, value)
            case "--runs": runs = Int(try Self.number(flag, value))
            case "--flows": flows = try Self.number(flag, value)
            case "--only": only = Set(value.split(separator: ",").map(String.init))
            default: throw BenchFailure("unknown option \(flag)")
            }
        }
        guard !interface.isEmpty, !peer.isEmpty else {
            throw BenchFailure("usage: lb-only-bench --interface IF --peer PEER [--repeat N] [--runs R] [--flows F] [--only CASE,...]")
        }
        guard runs >= 1, repeatCount >= 1000 else { throw BenchFailure("--runs >= 1, --repeat >= 1000") }
        guard flows >= 2, flows <= 65536, flows & (flows - 1) == 0 else { throw BenchFailure("--flows: a power of two, 2...65536") }
    }

    private static func number(_ flag: String, _ value: String) throws -> UInt32 {
        guard let number = UInt32(value) else { throw BenchFailure("\(flag): not a number: \(value)") }
        return number
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

let lbMAC = Packet.mac("02:00:00:00:00:01"), routerMAC = Packet.mac("02:00:00:00:00:02")
let client = Packet.ipv4("10.111.1.2"), vip = Packet.ipv4("10.112.0.10")

/// A 54-byte frame: Ethernet, IPv4, TCP without options or payload (64 bytes on a wire).
func tcpFrame(flags: UInt8) -> [UInt8] {
    let segment = Packet.tcp(src: client, dst: vip, sport: 40000, dport: 80, flags: flags, payload: [])
    return Packet.ethernet(dst: lbMAC, src: routerMAC, type: Packet.ethIPv4,
                           payload: Packet.ipv4(src: client, dst: vip, proto: Packet.tcp, payload: segment))
}

/// The balancer as lbd would program it for one VIP with two IPv4 backends.
func configure(_ datapath: BalancerDatapath) throws {
    var cfg = lb_config()
    withUnsafeMutableBytes(of: &cfg.gateway_mac) { $0.copyBytes(from: routerMAC) }
    cfg.mtu = 1500
    cfg.encap_src_v4 = ABIAddress.words(Packet.ipv4("10.113.0.0")).0
    cfg.encap_src_v4_mask = ABIAddress.words(Packet.ipv4("255.255.0.0")).0
    cfg.udp_idle_timeout_s = 30
    try datapath.config.update(key: UInt32(0), value: cfg)
    for i in 1...2 {
        var backend = lb_backend()
        backend.addr = ABIAddress.words([10, 111, UInt8(100 + i), 2])
        backend.family = UInt8(LB_FAMILY_V4)
        backend.flags = UInt8(LB_BACKEND_F_UP)
        try datapath.backends.update(key: UInt32(i), value: backend)
    }
    try datapath.writeRing(vipIndex: 0, ring: 0, slots: (0..<Int(datapath.limits.ringSize)).map { UInt32(1 + $0 % 2) })
    var key = lb_vip_key()
    key.addr = ABIAddress.words(vip)
    key.port = UInt16(80).bigEndian
    key.proto = Packet.tcp
    key.family = UInt8(LB_FAMILY_V4)
    try datapath.installVIP(key, index: 0, info: lb_vip_info())
}

struct Case {
    var name: String
    var target: BPFProgram
    var frame: [UInt8]
    var varyOffset: UInt32?
    var varyMask: UInt32 = 0
    var wallRates: [Double] = []
    var kernelNs: [Double] = []
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func format(_ value: Double) -> String { String(format: "%.3f", value) }

do {
    let options = try Options(Array(CommandLine.arguments.dropFirst()))
    let ifindex = try XDP.interfaceIndex(options.interface)
    let limits = try DatapathLimits(maxVIPs: 512, maxBackends: 4096, ringSize: 65537, connectionTable: 1_000_000)
    let balancer = try BalancerDatapath.loadUnpinned(limits: limits)
    try configure(balancer)
    let harness = try BenchHarness.load()
    let trivial = try BenchHarness.loadTrivialEncap()
    try harness.sink.attachXDP(interface: options.peer, mode: .native)
    defer { _ = try? harness.sink.detachXDP(interface: options.peer) }

    let ack = tcpFrame(flags: Packet.TCPFlag.ack), syn = tcpFrame(flags: Packet.TCPFlag.syn)
    // The TCP source port (offset 34): the low bits of the counter's first two bytes.
    let flowMask = options.flows - 1
    var cases = [
        Case(name: "generator", target: harness.noop, frame: ack),
        Case(name: "trivial", target: trivial, frame: ack),
        Case(name: "lbd", target: balancer.program, frame: ack, varyOffset: 34, varyMask: flowMask),
        Case(name: "lbd-syn", target: balancer.program, frame: syn, varyOffset: 26),  // the client address
    ]

    // What each target does to its frame, checked once outside the timed runs.
    for c in cases where c.name != "generator" {
        let result = try c.target.testRun(frame: c.frame)
        guard result.action == 3 /* XDP_TX */, result.output.count == c.frame.count + 20,
              result.output[23] == 4 /* IPPROTO_IPIP */ else {
            throw BenchFailure("\(c.name): action \(result.action), \(result.output.count) bytes: not an IPIP XDP_TX")
        }
    }

    func run(_ c: Case, repeat count: UInt32) throws -> LiveRunResult {
        try harness.setTarget(c.target)
        try harness.setFrame(c.frame, varyOffset: c.varyOffset, varyMask: c.varyMask)
        let sunkBefore = try harness.sunkFrames(), txBefore = try balancer.counter(LB_STAT_XDP_TX)
        let result = try harness.wrapper.testRunLive(frame: c.frame, repeat: count, ingressIfindex: ifindex)
        // Every frame must have been sent and received: otherwise the rate is not of packets
        // out. (A few more is the kernel's own chatter on the link, IPv6 neighbour discovery.)
        let sunk = try harness.sunkFrames() - sunkBefore
        guard sunk >= UInt64(count), sunk - UInt64(count) < 1000 else {
            throw BenchFailure("\(c.name): \(count) frames generated, \(sunk) arrived on \(options.peer)")
        }
        if c.target === balancer.program {
            let sent = try balancer.counter(LB_STAT_XDP_TX) - txBefore
            guard sent == UInt64(count) else { throw BenchFailure("\(c.name): the balancer sent \(sent) of \(count) frames") }
        }
        return result
    }

    // One untimed round first: the first lbd runs on a young connection table (fresh
    // LRU lists, the table not yet full) are 5-10% faster than every later one.
    for round in 0...options.runs {
        for index in cases.indices where options.only.isEmpty || options.only.contains(cases[index].name) {
            let c = cases[index]
            if c.name == "lbd" {
                // The established flows into the connection table (twice round the cycle), on
                // this CPU's LRU list: the SYN runs in between evict them.
                _ = try run(c, repeat: 2 * options.flows)
            }
            let newFlowsBefore = try balancer.counter(LB_STAT_NEW_FLOW)
            let result = try run(c, repeat: options.repeatCount)
            // The established case must have found every flow, the SYN case created one per frame.
            let created = try balancer.counter(LB_STAT_NEW_FLOW) - newFlowsBefore
            let expected: UInt64 = c.name == "lbd-syn" ? UInt64(options.repeatCount) : 0
            guard created == expected else {
                throw BenchFailure("\(c.name): \(created) connection entries created in a run of \(options.repeatCount); expected \(expected)")
            }
            guard round > 0 else { continue }
            cases[index].wallRates.append(Double(options.repeatCount) / (Double(result.wallNs) / 1e9))
            cases[index].kernelNs.append(Double(result.kernelNsPerFrame))
        }
    }

    print("lb-only frames=\(ack.count)B repeat=\(options.repeatCount) runs=\(options.runs) flows=\(options.flows) interface=\(options.interface)")
    // The rate is the kernel's: its timer leaves out the time the CPU spent elsewhere when
    // the run yielded between batches (this VM is shared); the wall-clock rate is shown too.
    func rate(_ c: Case) -> Double { 1e9 / median(c.kernelNs) }
    for c in cases where !c.kernelNs.isEmpty {
        print("lb-only \(c.name) pps=\(Int(rate(c).rounded())) ns_per_packet=\(Int(median(c.kernelNs)))"
              + " wall_pps=\(Int(median(c.wallRates).rounded()))"
              + " runs_ns=\(c.kernelNs.map { String(Int($0)) }.joined(separator: ","))")
    }
    for (lbd, trivial) in [(cases[2], cases[1]), (cases[3], cases[1])] where !lbd.kernelNs.isEmpty && !trivial.kernelNs.isEmpty {
        print("ratio \(lbd.name)/trivial lb_only_pps=\(format(rate(lbd) / rate(trivial)))")
    }
} catch {
    FileHandle.standardError.write(Data("lb-only-bench: \(error)\n".utf8))
    exit(1)
}
