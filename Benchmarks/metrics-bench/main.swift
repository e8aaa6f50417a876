import Balancer
import BenchSupport
import Foundation
import LBDAPI
import TestSupport

// The cost of a Prometheus scrape at the largest default state: the real lbd (generic
// XDP, in its own namespace) with 512 VIPs and 4,096 backends (8 per VIP), scraped 20
// times with curl in lbd's namespace. Prints the scrape time (curl's own, p50/p99), its
// size, lbd's CPU per scrape, and lbd's CPU share at a 15 s scrape interval (idle
// share measured over 15 s, plus one scrape per 15 s).

let vips = 512, backendsPerVIP = 8, scrapes = Int(ProcessInfo.processInfo.environment["LBD_BENCH_SCRAPES"] ?? "") ?? 20
let limits = Limits(maxVIPs: 512, maxBackends: 4096, ringSize: 16381, connectionTable: 4096, backendFamilies: [.v4])

func services() -> String {
    var lines = ["services:"]
    for vip in 0..<vips {
        lines.append("  - vip: 10.2.\(vip / 200).\(vip % 200 + 1):80/tcp")
        lines.append("    backends:")
        for backend in 0..<backendsPerVIP {
            let n = vip * backendsPerVIP + backend
            lines.append("      - { address: 10.70.\(n / 200).\(n % 200 + 1) }")
        }
    }
    return lines.joined(separator: "\n") + "\n"
}

/// curl's total time (seconds) and the body's size, for one scrape.
func scrape(_ env: Environment) throws -> (seconds: Double, bytes: Int) {
    let output = try shell("ip", "netns", "exec", env.namespace, "curl", "-sS", "-o", "/dev/null",
                           "-w", "%{http_code} %{time_total} %{size_download}", "http://127.0.0.1:9750/metrics")
    let fields = output.split(separator: " ")
    guard fields.count == 3, fields[0] == "200", let seconds = Double(fields[1]), let bytes = Int(fields[2]) else {
        throw BenchError("scrape: \(output)")
    }
    return (seconds, bytes)
}

Environment(name: "metrics-bench").run { env in
    let daemon = try env.startDaemon(config: try env.writeConfig(limits: limits))
    let client = try env.waitForAPI(daemon)
    let applied = try client.exchange(.post("/v1/apply?dry_run=0", yaml: services()))
    guard applied.status == 200 else { throw BenchError("apply: \(applied.status) \(applied.text)") }
    _ = try scrape(env)  // warm: first-use allocations

    let idleStart = try ProcessUsage(pid: daemon.processIdentifier)
    sleep(15)
    let idleCPU = try ProcessUsage(pid: daemon.processIdentifier).cpuSeconds - idleStart.cpuSeconds

    let before = try ProcessUsage(pid: daemon.processIdentifier)
    var times: [Double] = [], bytes = 0
    for _ in 0..<scrapes {
        let result = try scrape(env)
        times.append(result.seconds * 1000)
        bytes = result.bytes
    }
    let perScrape = (try ProcessUsage(pid: daemon.processIdentifier).cpuSeconds - before.cpuSeconds) / Double(scrapes)
    times.sort()
    print("metrics scrape_ms p50=\(format(percentile(times, 0.5))) p99=\(format(percentile(times, 0.99))) "
        + "bytes=\(bytes) (\(vips) VIPs x \(vips * backendsPerVIP) backends, n=\(scrapes); goal < 200 ms)")
    print("metrics lbd_cpu_ms_per_scrape=\(format(perScrape * 1000)) "
        + "lbd_cpu_percent_at_15s=\(format(100 * (idleCPU + perScrape) / 15)) (idle \(format(100 * idleCPU / 15))%; goal < 5)")
}
