import CLBABI
import Datapath
import Foundation
import Maglev
import PacketCraft

// `make demo`: the real balancer loaded into this kernel, one VIP over three weighted
// backends placed by Maglev, 30,000 client connections pushed through BPF_PROG_TEST_RUN,
// then a backend failure: the ring is rebuilt on the standby side and flipped, and the
// established flows of the healthy backends do not move.

let limits = try DatapathLimits(maxVIPs: 4, maxBackends: 16, ringSize: UInt32(MaglevTable.defaultSize), connectionTable: 100_000)
let lbMAC = Packet.mac("02:00:00:00:00:01"), routerMAC = Packet.mac("02:00:00:00:00:02")
let vip = Packet.ipv4("10.0.0.10")
let backendAddresses = ["192.0.2.11", "192.0.2.12", "192.0.2.13"].map(Packet.ipv4)
let weights = [100, 100, 200]
let clients = 30_000


func dotted(_ a: [UInt8]) -> String { a.map(String.init).joined(separator: ".") }

/// IPv4-mapped identity, as Maglev's FORMAT.md specifies for lbd.
func identity(_ address: [UInt8]) -> [UInt8] { [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + address }

func client(_ i: Int) -> [UInt8] { [198, 18, UInt8(i >> 8), UInt8(i & 0xff)] }

func tcpFrame(client: [UInt8], flags: UInt8) -> [UInt8] {
    let segment = Packet.tcp(src: client, dst: vip, sport: 40000, dport: 80, flags: flags)
    return Packet.ethernet(dst: lbMAC, src: routerMAC, type: Packet.ethIPv4,
                           payload: Packet.ipv4(src: client, dst: vip, proto: Packet.tcp, payload: segment))
}

/// Which backend the encapsulated frame is addressed to (outer IPv4 destination).
func sentTo(_ output: [UInt8]) -> String { dotted(Array(output[30..<34])) }

/// Ring slots as backend indices (backend i of `backendAddresses` has index i + 1).
func ringSlots(_ table: MaglevTable) -> [UInt32] {
    table.slots.map { position in
        let id = table.backends[Int(position)].id
        return UInt32(backendAddresses.firstIndex { identity($0) == id }! + 1)
    }
}

func table(excluding excluded: Int? = nil) throws -> MaglevTable {
    try MaglevTable(backends: backendAddresses.indices.map { i in
        try MaglevBackend(id: identity(backendAddresses[i]), weight: i == excluded ? 0 : weights[i])
    })
}

func printShare(_ title: String, _ counts: [String: Int], total: Int) {
    print(title)
    for address in backendAddresses.map(dotted) {
        let n = counts[address, default: 0]
        print("  \(address.padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(n).leftPad(6))  \(String(format: "%5.1f%%", 100 * Double(n) / Double(total)))")
    }
}

extension String {
    func leftPad(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}

let pins = "/sys/fs/bpf/lbd-demo-\(getpid())"
do {
    defer { _ = try? BalancerDatapath.removePins(pinDirectory: pins) }
    let datapath = try BalancerDatapath.open(pinDirectory: pins, limits: limits)
    print("loaded bpf/balancer.bpf.c into the kernel (program id \(datapath.program.id)), maps pinned under \(pins)")

    var cfg = lb_config()
    withUnsafeMutableBytes(of: &cfg.gateway_mac) { $0.copyBytes(from: Packet.mac("02:00:00:00:00:fe")) }
    cfg.mtu = 1500
    cfg.encap_src_v4 = ABIAddress.words(Packet.ipv4("172.16.0.0")).0
    cfg.encap_src_v4_mask = ABIAddress.words(Packet.ipv4("255.255.0.0")).0
    cfg.udp_idle_timeout_s = 30
    try datapath.config.update(key: 0, value: cfg)
    for (i, address) in backendAddresses.enumerated() {
        var backend = lb_backend()
        backend.addr = ABIAddress.words(address)
        backend.family = UInt8(LB_FAMILY_V4)
        backend.flags = UInt8(LB_BACKEND_F_UP)
        try datapath.backends.update(key: UInt32(i + 1), value: backend)
    }

    let initial = try table()
    try datapath.writeRing(vipIndex: 0, ring: 0, slots: ringSlots(initial))
    var key = lb_vip_key()
    key.addr = ABIAddress.words(vip)
    key.port = UInt16(80).bigEndian
    key.proto = Packet.tcp
    key.family = UInt8(LB_FAMILY_V4)
    var info = lb_vip_info()
    try datapath.installVIP(key, index: 0, info: info)
    print("VIP 10.0.0.10:80/tcp, Maglev ring of \(initial.size) slots, weights 100/100/200:")
    for (address, weight) in zip(backendAddresses, weights) {
        print("  \(dotted(address)) weight \(weight): \(initial.slotCounts[identity(address)] ?? 0) slots")
    }

    var firstBackend = [String]()
    for i in 0..<clients {
        let result = try datapath.testRun(frame: tcpFrame(client: client(i), flags: Packet.TCPFlag.syn))
        precondition(result.action == 3, "SYN not transmitted")
        firstBackend.append(sentTo(result.output))
    }
    printShare("\n\(clients) new connections (TCP SYNs from distinct clients, injected with BPF_PROG_TEST_RUN) went to:",
               Dictionary(grouping: firstBackend, by: { $0 }).mapValues(\.count), total: clients)

    print("\n192.0.2.12 goes down (as a failed health check will mark it): backend flagged down,")
    print("ring rebuilt without it on the standby side, then flipped with one write")
    var down = lb_backend()
    down.addr = ABIAddress.words(backendAddresses[1])
    down.family = UInt8(LB_FAMILY_V4)
    try datapath.backends.update(key: 2, value: down)
    let rebuilt = try table(excluding: 1)
    try datapath.writeRing(vipIndex: 0, ring: 1, slots: ringSlots(rebuilt))
    info.ring = 1
    try datapath.vips.update(key: 0, value: info)
    let changed = rebuilt.diff(from: initial)
    let failedID = identity(backendAddresses[1])
    let ofFailed = changed.filter { initial.backend(atSlot: $0)?.id == failedID }.count
    print("  slots rewritten: \(changed.count) of \(rebuilt.size): \(ofFailed) of 192.0.2.12's, \(changed.count - ofFailed) others (Maglev's disruption)")

    var moved = 0, stayed = 0, rescued = [String: Int]()
    for i in 0..<clients {
        let now = sentTo(try datapath.testRun(frame: tcpFrame(client: client(i), flags: Packet.TCPFlag.ack)).output)
        if firstBackend[i] == dotted(backendAddresses[1]) { rescued[now, default: 0] += 1 } else if now == firstBackend[i] { stayed += 1 } else { moved += 1 }
    }
    print("  established connections on healthy backends: \(stayed) stayed, \(moved) moved")
    print("  connections of 192.0.2.12 re-picked: \(rescued.sorted { $0.key < $1.key }.map { "\($0.value) to \($0.key)" }.joined(separator: ", "))")

    print("\ndatapath counters (summed over CPUs):")
    let counters = try datapath.globalCounters()
    let names: [(lb_stat, String)] = [(LB_STAT_RX, "rx"), (LB_STAT_XDP_TX, "xdp_tx"), (LB_STAT_NEW_FLOW, "new_flow"),
                                      (LB_STAT_CONN_HIT, "conn_hit"), (LB_STAT_CONN_MISS, "conn_miss"),
                                      (LB_STAT_CONN_RESCHEDULED, "conn_rescheduled"), (LB_STAT_NO_BACKEND, "no_backend")]
    for (stat, name) in names { print("  \(name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(counters[Int(stat.rawValue)])") }
    for (i, address) in backendAddresses.enumerated() {
        let traffic = try datapath.backendTraffic(index: UInt32(i + 1))
        print("  backend \(dotted(address)): \(traffic.packets) packets, \(traffic.bytes) bytes")
    }
    print("\nremoved the pins; the program and maps are gone with them.")
} catch {
    FileHandle.standardError.write(Data("demo failed: \(error)\n".utf8))
    exit(1)
}
