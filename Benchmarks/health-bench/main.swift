import Balancer
import BenchSupport
import Daemon
import Datapath
import Foundation
import LBDAPI
import TestSupport

// Health checking end to end, with the real lbd in its own namespace (generic XDP) and
// an HTTP responder on every address of the namespace's loopback (checked `via: direct`:
// the responder's addresses are no DSR backends, there is no tunnel to them):
//
//  - failover: one VIP, two backends checked over HTTP every 200 ms (timeout 100 ms,
//    rise 2, fall 2). A backend's address is removed (its checks then time out, as for
//    a dead host) and, once it is out of the VIP's live ring, added back. Timed from
//    the change to the ring read back from the pinned maps, over 20 trials (p50/p99)
//    against the bounds interval × fall + timeout + 50 ms and interval × rise + 50 ms;
//  - soak: 2,000 backends (20 VIPs × 100) checked over HTTP every second for 5 minutes:
//    lbd's CPU (share of one core, user and system) and resident memory over time, and
//    the CPU per check: lbd's CPU time over the checks it counted in that time
//    (lbd_health_check_duration_seconds_count, scraped before and after).
//
// LBD_BENCH_HEALTH_TRIALS and LBD_BENCH_HEALTH_SECONDS shorten a run.

let environment = ProcessInfo.processInfo.environment
let trials = Int(environment["LBD_BENCH_HEALTH_TRIALS"] ?? "") ?? 20
let soakSeconds = Int(environment["LBD_BENCH_HEALTH_SECONDS"] ?? "") ?? 300
let soakVIPs = 20, soakBackendsPerVIP = 100
let limits = Limits(maxVIPs: 32, maxBackends: 4096, ringSize: 10007, connectionTable: 4096, backendFamilies: [.v4])
let interval = 200.0, timeout = 100.0, rise = 2.0, fall = 2.0

/// Any request on any local address, port 8080: 200 and the connection closed.
let responder = """
    import asyncio
    async def answer(reader, writer):
        try:
            await reader.readuntil(b"\\r\\n\\r\\n")
            writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok")
            await writer.drain()
        except Exception:
            pass
        writer.close()
    async def main():
        server = await asyncio.start_server(answer, "0.0.0.0", 8080, backlog=4096)
        async with server:
            await server.serve_forever()
    asyncio.run(main())
    """

func failoverServices() -> String {
    """
    services:
      - vip: 10.0.0.10:80/tcp
        health_check: { type: http, via: direct, port: 8080, interval: \(Int(interval))ms, timeout: \(Int(timeout))ms, rise: \(Int(rise)), fall: \(Int(fall)) }
        backends: [ { address: 192.0.2.11 }, { address: 192.0.2.12 } ]
    """
}

func soakAddress(_ vip: Int, _ backend: Int) -> String { "10.60.\(vip).\(backend + 1)" }

func soakServices() -> String {
    var lines = ["services:"]
    for vip in 0..<soakVIPs {
        lines.append("  - vip: 10.1.\(vip).1:80/tcp")
        lines.append("    health_check: { type: http, via: direct, port: 8080, interval: 1s, timeout: 500ms, rise: 2, fall: 2 }")
        lines.append("    backends:")
        for backend in 0..<soakBackendsPerVIP { lines.append("      - { address: \(soakAddress(vip, backend)) }") }
    }
    return lines.joined(separator: "\n") + "\n"
}

/// The addresses the live ring of `vip` names, from the pinned maps.
func liveRing(_ datapath: BalancerDatapath, _ vip: String) throws -> Set<String> {
    let installed = try InstalledStateReader.read(datapath)
    guard let entry = installed.vips.first(where: { $0.key.description == vip }),
          !entry.info.flags.contains(.noBackend) else { return [] }
    let addresses = Dictionary(installed.backends.map { ($0.index, $0.address.description) }) { first, _ in first }
    return Set(Set(entry.liveSlots).compactMap { addresses[$0] })
}

/// Milliseconds from now until `condition` holds (polled every millisecond; 30 s at most).
func millisecondsUntil(_ what: String, _ condition: () throws -> Bool) throws -> Double {
    let start = ContinuousClock.now
    try waitForBlocking(what, within: .seconds(30), every: .milliseconds(1), condition)
    return microseconds(ContinuousClock.now - start) / 1000
}

func addresses(_ env: Environment, _ verb: String, _ list: [String]) throws {
    let batch = env.directory + "/addresses"
    try list.map { "address \(verb) \($0)/32 dev lo" }.joined(separator: "\n").write(toFile: batch, atomically: true, encoding: .utf8)
    try shell("ip", "-n", env.namespace, "-batch", batch)
}

func failover(_ env: Environment, _ datapath: BalancerDatapath) throws {
    let vip = "10.0.0.10:80/tcp", both: Set<String> = ["192.0.2.11", "192.0.2.12"]
    _ = try millisecondsUntil("both backends up") { try liveRing(datapath, vip) == both }
    var out: [Double] = [], back: [Double] = []
    for _ in 0..<trials {
        try shell("ip", "-n", env.namespace, "address", "del", "192.0.2.12/32", "dev", "lo")
        out.append(try millisecondsUntil("192.0.2.12 out of the ring") { try liveRing(datapath, vip) == ["192.0.2.11"] })
        try shell("ip", "-n", env.namespace, "address", "add", "192.0.2.12/32", "dev", "lo")
        back.append(try millisecondsUntil("192.0.2.12 back in the ring") { try liveRing(datapath, vip) == both })
        // Checks are not in step with the trials: start the next one at a random phase.
        usleep(UInt32.random(in: 0..<UInt32(interval * 1000)))
    }
    out.sort()
    back.sort()
    print("health failover_out_ms p50=\(format(percentile(out, 0.5))) p99=\(format(percentile(out, 0.99))) "
        + "max=\(format(out.last ?? 0)) (n=\(trials); bound interval*fall+timeout+50 = \(format(interval * fall + timeout + 50)))")
    print("health failover_back_ms p50=\(format(percentile(back, 0.5))) p99=\(format(percentile(back, 0.99))) "
        + "max=\(format(back.last ?? 0)) (n=\(trials); bound interval*rise+50 = \(format(interval * rise + 50)))")
}

/// Checks lbd has run so far, from its /metrics.
func checksSoFar(_ env: Environment) throws -> Double {
    let scrape = try shell("ip", "netns", "exec", env.namespace, "curl", "-sS", "http://127.0.0.1:9750/metrics")
    let counts = scrape.split(separator: "\n").filter { $0.hasPrefix("lbd_health_check_duration_seconds_count") }
    guard !counts.isEmpty else { throw BenchError("no lbd_health_check_duration_seconds_count in /metrics") }
    return counts.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
}

func soak(_ env: Environment, _ client: UnixSocketConnection, _ datapath: BalancerDatapath, lbd: Int32) throws {
    let all = (0..<soakVIPs).flatMap { vip in (0..<soakBackendsPerVIP).map { soakAddress(vip, $0) } }
    try addresses(env, "add", all)
    let applied = try client.exchange(.post("/v1/apply?dry_run=0", yaml: soakServices()))
    guard applied.status == 200 else { throw BenchError("apply: \(applied.status) \(applied.text)") }
    for vip in 0..<soakVIPs {
        let expected = Set((0..<soakBackendsPerVIP).map { soakAddress(vip, $0) })
        _ = try millisecondsUntil("VIP \(vip)'s backends up") { try liveRing(datapath, "10.1.\(vip).1:80/tcp") == expected }
    }
    let checksBefore = try checksSoFar(env)
    let start = try ProcessUsage(pid: lbd), started = ContinuousClock.now
    var samples: [Double] = [start.residentKilobytes / 1024]
    while ContinuousClock.now - started < .seconds(soakSeconds) {
        sleep(UInt32(min(10, soakSeconds)))
        samples.append(try ProcessUsage(pid: lbd).residentKilobytes / 1024)
    }
    let end = try ProcessUsage(pid: lbd)
    let wall = microseconds(ContinuousClock.now - started) / 1e6
    let checks = try checksSoFar(env) - checksBefore
    for vip in 0..<soakVIPs where try liveRing(datapath, "10.1.\(vip).1:80/tcp").count != soakBackendsPerVIP {
        throw BenchError("VIP \(vip) lost backends during the soak")
    }
    let cpu = end.cpuSeconds - start.cpuSeconds, user = end.userSeconds - start.userSeconds
    print("health soak backends=\(all.count) interval=1s seconds=\(Int(wall)) lbd_cpu_percent_of_one_core="
        + "\(format(100 * cpu / wall)) (user \(format(100 * user / wall)), system \(format(100 * (cpu - user) / wall))) "
        + "(goal < 10)")
    print("health soak checks_per_second=\(format(checks / wall)) lbd_cpu_us_per_check=\(format(1e6 * cpu / max(checks, 1))) "
        + "(user \(format(1e6 * user / max(checks, 1))), system \(format(1e6 * (cpu - user) / max(checks, 1))))")
    print("health soak lbd_rss_mb first=\(format(samples.first ?? 0)) last=\(format(samples.last ?? 0)) "
        + "max=\(format(samples.max() ?? 0)) (goal: flat)")
}

Environment(name: "health-bench").run { env in
    try addresses(env, "add", ["192.0.2.11", "192.0.2.12"])
    let server = try env.start(["python3", "-c", responder], log: env.directory + "/responder.log")
    try waitForBlocking("the responder listening", within: .seconds(30)) {
        guard server.isRunning else { throw BenchError("the responder exited: see \(env.directory)/responder.log") }
        return try shell("ip", "netns", "exec", env.namespace, "ss", "-Htln").contains("0.0.0.0:8080")
    }
    let daemon = try env.startDaemon(config: try env.writeConfig(limits: limits, services: failoverServices()))
    let client = try env.waitForAPI(daemon)
    let datapath = try BalancerDatapath.open(pinDirectory: env.pins, limits: try DatapathSettings.limits(limits))
    try failover(env, datapath)
    try soak(env, client, datapath, lbd: daemon.processIdentifier)
}
