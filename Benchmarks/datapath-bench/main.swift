import CLBABI
import Datapath
import DatapathBench
import Foundation
import PacketCraft
import TestSupport

// Nanoseconds per packet through the balancer, by path, measured with BPF_PROG_TEST_RUN.
// bench.bpf.c restores the template frame before every run and tail-calls the balancer;
// the same wrapper tail-calling a program that only returns XDP_TX is the baseline,
// subtracted from every case. Median of `runs` runs of `iterations` packets each.

let iterations = UInt32(ProcessInfo.processInfo.environment["LBD_BENCH_ITERATIONS"] ?? "") ?? 2_000_000
let runs = 7
let connectionTable = UInt32(ProcessInfo.processInfo.environment["LBD_BENCH_CONNECTIONS"] ?? "") ?? 1_000_000
let limits = try DatapathLimits(maxVIPs: 16, maxBackends: 4096, ringSize: 65537, connectionTable: connectionTable)

let lbMAC = Packet.mac("02:00:00:00:00:01"), routerMAC = Packet.mac("02:00:00:00:00:02")
let client4 = Packet.ipv4("198.51.100.7"), vip4 = Packet.ipv4("10.0.0.10")
let client6 = Packet.ipv6("2001:db8:c::7"), vip6 = Packet.ipv6("2001:db8:f::10")


func frame(_ packet: [UInt8]) -> [UInt8] {
    Packet.ethernet(dst: lbMAC, src: routerMAC, type: packet[0] >> 4 == 6 ? Packet.ethIPv6 : Packet.ethIPv4, payload: packet)
}

func tcpFrame(_ src: [UInt8], _ dst: [UInt8], dport: UInt16, flags: UInt8) -> [UInt8] {
    let segment = Packet.tcp(src: src, dst: dst, sport: 40000, dport: dport, flags: flags, payload: [UInt8](repeating: 0x61, count: 16))
    return frame(src.count == 4 ? Packet.ipv4(src: src, dst: dst, proto: Packet.tcp, payload: segment)
                                : Packet.ipv6(src: src, dst: dst, nextHeader: Packet.tcp, payload: segment))
}

/// One VIP per family, each with a full ring over 100 backends (IPv4 and IPv6).
func configure(_ datapath: BalancerDatapath) throws {
    var cfg = lb_config()
    withUnsafeMutableBytes(of: &cfg.gateway_mac) { $0.copyBytes(from: Packet.mac("02:00:00:00:00:fe")) }
    cfg.mtu = 1500
    cfg.encap_src_v4 = ABIAddress.words(Packet.ipv4("172.16.0.0")).0
    cfg.encap_src_v4_mask = ABIAddress.words(Packet.ipv4("255.255.0.0")).0
    cfg.encap_src_v6 = ABIAddress.words(Packet.ipv6("fd00:1b::"))
    cfg.encap_src_v6_mask = ABIAddress.words(Packet.ipv6("ffff:ffff:ffff:ffff::"))
    cfg.udp_idle_timeout_s = 30
    cfg.tcp_idle_timeout_s = 3600
    cfg.tcp_linger_s = 10
    try datapath.config.update(key: UInt32(0), value: cfg)
    for i in 1...200 {
        var backend = lb_backend()
        let v4 = i <= 100
        backend.addr = ABIAddress.words(v4 ? [192, 0, 2, UInt8(i)] : Packet.ipv6("2001:db8::\(String(i, radix: 16))"))
        backend.family = UInt8(v4 ? LB_FAMILY_V4 : LB_FAMILY_V6)
        backend.flags = UInt8(LB_BACKEND_F_UP)
        try datapath.backends.update(key: UInt32(i), value: backend)
    }
    let vips: [([UInt8], UInt16, UInt8, UInt32)] = [(vip4, 80, Packet.tcp, 0), (vip4, 53, Packet.udp, 1), (vip6, 443, Packet.tcp, 2)]
    for (address, port, proto, index) in vips {
        let firstBackend = address.count == 4 ? 1 : 101
        let slots = (0..<Int(limits.ringSize)).map { UInt32(firstBackend + $0 % 100) }
        try datapath.writeRing(vipIndex: index, ring: 0, slots: slots)
        var key = lb_vip_key()
        key.addr = ABIAddress.words(address)
        key.port = port.bigEndian
        key.proto = proto
        key.family = UInt8(address.count == 4 ? LB_FAMILY_V4 : LB_FAMILY_V6)
        try datapath.installVIP(key, index: index, info: lb_vip_info())
    }
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func measure(_ harness: BenchHarness, target: Int32, frame: [UInt8], varyOffset: UInt32? = nil, varyMask: UInt32 = 0) throws -> Double {
    try harness.setTarget(programFD: target)
    try harness.setFrame(frame, varyOffset: varyOffset, varyMask: varyMask, scramble: varyMask != 0)
    return median(try (0..<runs).map { _ in Double(try harness.run(repeat: iterations).durationNs) })
}

/// Fills a connection table of `entries` with distinct flows (batched writes of 64k).
func fillConnectionTable(_ datapath: BalancerDatapath, entries: Int) throws {
    let chunk = 65536
    var entry = lb_flow()
    entry.backend = 1
    for start in stride(from: 0, to: entries, by: chunk) {
        let keys = (start..<min(start + chunk, entries)).map { n -> lb_flow_key in
            var key = lb_flow_key()
            key.src.0 = UInt32(n).bigEndian
            key.dst.0 = ABIAddress.words(vip4).0
            key.sport = UInt16(truncatingIfNeeded: n).bigEndian
            key.dport = UInt16(80).bigEndian
            key.proto = Packet.tcp
            key.family = UInt8(LB_FAMILY_V4)
            return key
        }
        try datapath.connTable.updateBatch(keys: keys, values: [lb_flow](repeating: entry, count: keys.count),
                                           timeoutSeconds: 3600)
    }
}

/// What lbd's `lbd_conntrack_entries` costs: one batched count of a full table, by size
/// (LBD_BENCH_SCAN_SIZES, entries, comma-separated). Median of 3 counts.
func benchConnectionTableCount() throws {
    let sizes = (ProcessInfo.processInfo.environment["LBD_BENCH_SCAN_SIZES"] ?? "1000000,8000000")
        .split(separator: ",").compactMap { UInt32($0) }
    for size in sizes {
        let datapath = try BalancerDatapath.loadUnpinned(limits: try DatapathLimits(
            maxVIPs: 1, maxBackends: 2, ringSize: 13, connectionTable: size))
        try fillConnectionTable(datapath, entries: Int(size))
        var counted = EntryCount(entries: 0, exact: true)
        let times = try (0..<3).map { _ -> Double in
            let start = DispatchTime.now().uptimeNanoseconds
            counted = try datapath.connectionTableEntries()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
        let exact = try datapath.connTable.count().entries
        print("conntrack_count capacity=\(size) entries=\(exact) counted=\(counted.entries) exact=\(counted.exact) ms=\(Int(median(times).rounded()))")
        try benchFlowCensus(datapath, entries: exact)
    }
}

/// What `lbd_backend_active_flows`, the status's active flows and `drain --wait` cost: one
/// census (a walk of the whole table) of a full table whose flows are all live on backend 1.
func benchFlowCensus(_ datapath: BalancerDatapath, entries: Int) throws {
    var backend = lb_backend()
    backend.addr.0 = ABIAddress.words(Packet.ipv4("192.0.2.11")).0
    backend.family = UInt8(LB_FAMILY_V4)
    backend.flags = UInt8(LB_BACKEND_F_UP)
    try datapath.backends.update(key: 1, value: backend)
    var active = 0
    let times = try (0..<3).map { _ -> Double in
        let start = DispatchTime.now().uptimeNanoseconds
        active = try datapath.flowCensus().values.reduce(0) { $0 + $1.active }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }
    guard active == entries else { fatalError("flow census: \(active) active flows of \(entries)") }
    print("flow_census entries=\(entries) active=\(active) ms=\(Int(median(times).rounded()))")
}

let pinDirectory = uniqueName("/sys/fs/bpf/lbd-bench-")
do {
    defer { _ = try? BalancerDatapath.removePins(pinDirectory: pinDirectory) }
    // LBD_BENCH_OBJECT: a balancer .bpf.o to measure instead of the embedded one (A/B of BPF changes).
    let object = ProcessInfo.processInfo.environment["LBD_BENCH_OBJECT"]
    let datapath = try BalancerDatapath.open(pinDirectory: pinDirectory, limits: limits, objectPath: object)
    try configure(datapath)
    let harness = try BenchHarness.load()
    let udp = frame(Packet.ipv4(src: client4, dst: vip4, proto: Packet.udp,
                                payload: Packet.udp(src: client4, dst: vip4, sport: 5353, dport: 53, payload: [UInt8](repeating: 0x62, count: 32))))
    let ack = tcpFrame(client4, vip4, dport: 80, flags: Packet.TCPFlag.ack)
    // vary: the client address (offset 26) changes every packet; with a mask, cycles over
    // mask + 1 flows, whose first round inserts them (the median run only looks them up),
    // each round in another order than the one that inserted them (as real traffic).
    let cases: [(name: String, frame: [UInt8], vary: UInt32?, mask: UInt32)] = [
        ("tcp_syn_new_flow", tcpFrame(client4, vip4, dport: 80, flags: Packet.TCPFlag.syn), 26, 0),
        ("tcp_established", ack, nil, 0),
        ("tcp_established_4k_flows", ack, 26, 0xfff),
        ("tcp_established_512k_flows", ack, 26, 0x7ffff),
        ("udp_established", udp, nil, 0),
        ("tcp6_established", tcpFrame(client6, vip6, dport: 443, flags: Packet.TCPFlag.ack), nil, 0),
        ("non_vip_pass", tcpFrame(client4, Packet.ipv4("10.0.0.99"), dport: 80, flags: Packet.TCPFlag.ack), nil, 0),
    ]
    for c in cases {
        // Established cases: the first packet creates the connection entry.
        let warmup = try datapath.testRun(frame: c.frame)
        let expected: UInt32 = c.name == "non_vip_pass" ? 2 : 3
        guard object != nil || warmup.action == expected else { fatalError("\(c.name): action \(warmup.action), expected \(expected)") }
        let baseline = try measure(harness, target: harness.noop.rawFD, frame: c.frame, varyOffset: c.vary, varyMask: c.mask)
        let total = try measure(harness, target: datapath.programFD, frame: c.frame, varyOffset: c.vary, varyMask: c.mask)
        print("datapath \(c.name) ns_per_packet=\(Int((total - baseline).rounded())) baseline_ns=\(Int(baseline.rounded()))")
    }
    // Every run of the new-flow case must have inserted: otherwise it measured the wrong path.
    let expectedInserts = UInt64(runs) * UInt64(iterations)
    guard try datapath.counter(LB_STAT_NEW_FLOW) >= expectedInserts else {
        fatalError("the new-flow case created fewer connection entries than packets")
    }
    try benchConnectionTableCount()
} catch {
    FileHandle.standardError.write(Data("datapath-bench: \(error)\n".utf8))
    exit(1)
}
