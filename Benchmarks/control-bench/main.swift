import Balancer
import BenchSupport
import CLBABI
import Daemon
import Datapath
import Foundation
import LBDAPI

// The control plane, end to end: the real lbd (built next to this binary) on a veth in
// its own network namespace (generic XDP, its own pin and state directories), driven
// over its API socket as lbctl does; the pinned maps read from here (adopted, read only).
//
//  - apply 100 VIPs × 100 backends from empty: until the answer, and until every VIP's
//    live ring is populated in the maps;
//  - lbd's resident memory with that state loaded;
//  - 1000 add_backend edits of a 101st backend on one of those VIPs, each followed by its
//    remove (the VIP stays at 100–101): the round trip of every edit, and from each
//    add's answer until the new backend's index is in the VIP's live ring.
//
// Everything is removed at the end, on failure and on SIGINT/SIGTERM too.

let vipCount = 100, backendsPerVIP = 100
let adds = Int(ProcessInfo.processInfo.environment["LBD_BENCH_EDITS"] ?? "") ?? 1000  // each followed by a remove
let limits = Limits(maxVIPs: 128, maxBackends: 12_000, ringSize: 65537, connectionTable: 4096, backendFamilies: [.v4])

func servicesYAML() -> String {
    var lines = ["services:"]
    for vip in 0..<vipCount {
        lines.append("  - vip: 10.1.\(vip).1:80/tcp")
        lines.append("    backends:")
        for backend in 1...backendsPerVIP { lines.append("      - { address: 10.100.\(vip).\(backend) }") }
    }
    return lines.joined(separator: "\n") + "\n"
}

func vipKey(_ vip: Int) -> lb_vip_key {
    var key = lb_vip_key()
    key.addr.0 = UInt32(10 | 1 << 8 | vip << 16 | 1 << 24)  // 10.1.vip.1, network order
    key.port = UInt16(80).bigEndian
    key.proto = UInt8(IPPROTO_TCP)
    key.family = UInt8(LB_FAMILY_V4)
    return key
}

/// Whether the first and the last chunk of the VIP's live ring hold backends (cheap;
/// the full rings are checked afterwards).
func liveRingPopulated(_ datapath: BalancerDatapath, _ vip: Int) throws -> Bool {
    guard let index = try datapath.vipMap.lookup(key: vipKey(vip)), let info = try datapath.vips.lookup(key: index) else {
        return false
    }
    let base = try datapath.ringBase(vipIndex: index, ring: info.ring)
    for chunk in [base, base + datapath.limits.chunksPerRing - 1] {
        guard let value = try datapath.rings.lookup(key: chunk), value.slots.0 != 0 else { return false }
    }
    return true
}

/// Whether the VIP's live ring holds a backend index not in `known`, reading its chunks
/// in order and stopping at the first such index.
func liveRingHasNewIndex(_ datapath: BalancerDatapath, _ vipIndex: UInt32, known: Set<UInt32>) throws -> Bool {
    guard let info = try datapath.vips.lookup(key: vipIndex) else { return false }
    let base = try datapath.ringBase(vipIndex: vipIndex, ring: info.ring)
    for chunk in 0..<datapath.limits.chunksPerRing {
        guard let value = try datapath.rings.lookup(key: base + chunk) else { continue }
        let found = withUnsafeBytes(of: value.slots) { raw in
            raw.bindMemory(to: UInt32.self).contains { $0 != 0 && !known.contains($0) }
        }
        if found { return true }
    }
    return false
}

func run(_ env: Environment) throws {
    let daemon = try env.startDaemon(config: try env.writeConfig(limits: limits))
    let client = try env.waitForAPI(daemon)
    let datapath = try BalancerDatapath.open(pinDirectory: env.pins, limits: try DatapathSettings.limits(limits))
    guard datapath.adopted else { throw BenchError("the pinned datapath was not adopted as it is: \(datapath.origin)") }
    let clock = ContinuousClock()

    // Apply 100 × 100 from empty.
    let body = servicesYAML()
    let applyStart = clock.now
    let applied = try client.exchange(.post("/v1/apply?dry_run=0", yaml: body))
    let applyAnswer = clock.now
    guard applied.status == 200 else { throw BenchError("apply: \(applied.status) \(applied.text)") }
    let deadline = applyAnswer + .seconds(60)
    var pending = Array(0..<vipCount)
    while !pending.isEmpty {
        pending = try pending.filter { try !liveRingPopulated(datapath, $0) }
        if !pending.isEmpty, clock.now > deadline { throw BenchError("\(pending.count) VIPs without a live ring after 60 s") }
    }
    let applyVisible = clock.now
    for vip in 0..<vipCount {  // every slot of every live ring, untimed
        let index = try datapath.vipMap.lookup(key: vipKey(vip))!
        let ring = try datapath.readRing(vipIndex: index, ring: try datapath.vips.lookup(key: index)!.ring)
        guard !ring.contains(0), Set(ring).count == backendsPerVIP else {
            throw BenchError("VIP \(vip): live ring holds \(Set(ring).count) distinct indices")
        }
    }

    // Resident memory with that state loaded.
    let kilobytes = try ProcessUsage(pid: daemon.processIdentifier).residentKilobytes

    // Edits: add / remove a 101st backend on VIP 0.
    let vipIndex = try datapath.vipMap.lookup(key: vipKey(0))!
    let original = Set(try datapath.readRing(vipIndex: vipIndex, ring: try datapath.vips.lookup(key: vipIndex)!.ring))
    var rtt: [Double] = [], visible: [Double] = []
    for edit in 0..<(2 * adds) {
        let adding = edit % 2 == 0
        let request = adding ? #"{"op":"add_backend","vip":"10.1.0.1:80/tcp","address":"10.200.0.1"}"#
                             : #"{"op":"remove_backend","vip":"10.1.0.1:80/tcp","address":"10.200.0.1"}"#
        let start = clock.now
        let answer = try client.exchange(.post("/v1/edit", json: request))
        let answered = clock.now
        guard answer.status == 200 else { throw BenchError("edit \(edit): \(answer.status) \(answer.text)") }
        if adding {
            // Spin until the live ring holds an index that is none of the VIP's 100: the
            // VIP's info, then the live ring's chunks in order, up to the first new index
            // (Maglev spreads the new backend's ~1% of the slots over the whole ring).
            while try !liveRingHasNewIndex(datapath, vipIndex, known: original) {
                if clock.now - answered > .seconds(5) { throw BenchError("edit \(edit) not in the maps after 5 s") }
            }
            visible.append(microseconds(clock.now - answered))
        } else {
            // Untimed: the removed index is gone from the whole live ring before the next add.
            while Set(try datapath.readRing(vipIndex: vipIndex, ring: try datapath.vips.lookup(key: vipIndex)!.ring)) != original {
                if clock.now - answered > .seconds(5) { throw BenchError("edit \(edit) not in the maps after 5 s") }
            }
        }
        rtt.append(microseconds(answered - start))
    }
    rtt.sort()
    visible.sort()

    let applyMS = microseconds(applyAnswer - applyStart) / 1000
    let applyMapsMS = microseconds(applyVisible - applyStart) / 1000
    print("control edit_to_maps_us p50=\(format(percentile(visible, 0.5))) p99=\(format(percentile(visible, 0.99))) (add_backend, n=\(visible.count); goal p99 < 10000)")
    print("control edit_rtt_us p50=\(format(percentile(rtt, 0.5))) p99=\(format(percentile(rtt, 0.99))) (add and remove, n=\(rtt.count); goal p99 < 10000)")
    print("control apply_100x100_ms=\(format(applyMS)) (goal < 1000)")
    print("control apply_to_maps_ms=\(format(applyMapsMS)) (goal < 1000)")
    print("control lbd_rss_mb=\(format(kilobytes / 1024)) (goal < 50)")
}

Environment(name: "control-bench").run(run)
