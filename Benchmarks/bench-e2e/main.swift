import BenchSupport
import Foundation
import TestSupport

// `make bench-e2e`: lbd against HAProxy (mode tcp), nginx (stream module) and no load
// balancer at all, on scripts/lbd-topology's network, in one run.
//
//   (a) conn_per_s      new connections per second: wrk, one short HTTP request per
//                       connection (`Connection: close`)
//   (b) req_per_s       requests per second on keep-alive connections: wrk
//   (c) download_gbit_s a bulk download from a backend: iperf3 -R
//   (d) lb-only pps     the balancer alone on small frames from a live-frames generator,
//                       against a trivial XDP encapsulator (Benchmarks/lb-only-bench)
//
// Modes of (a)-(c), each the median of BENCH_E2E_RUNS runs of BENCH_E2E_SECONDS seconds;
// the runs go in rounds, and within a round every metric is measured for every mode back
// to back, so a change in the load of the machine (it may be shared) falls on all alike:
//   lbd-native, lbd-generic  lbd's XDP balancer on the lb's eth0 (DSR)
//   haproxy, nginx           a TCP proxy in the lb's namespace on the VIP
//   direct                   the client straight to backend b1's own address
//
// Two topologies of the same plan, up together: lbd-native runs on one built with
// --xdp-mode native (the router's port facing the lb then carries a pass-through XDP
// program, which native XDP_TX into a veth needs); everything else on one built with
// --xdp-mode generic, where no XDP program sits on the proxies' path.
//
// lbd, lbctl and lb-only-bench are the ones built next to this binary. Environment:
// BENCH_E2E_RUNS (3), BENCH_E2E_SECONDS (5), BENCH_E2E_CONNECTIONS (64), BENCH_E2E_THREADS
// (2), BENCH_E2E_REPEAT (frames per LB-only run, 5000000), BENCH_E2E_MODES (all: "lb-only
// direct haproxy nginx lbd-generic lbd-native"). Needs root, wrk, iperf3, haproxy, nginx
// with libnginx-mod-stream, curl, python3 (make bench-e2e installs what is missing).

let topologyScript = SourceTree.root + "/scripts/lbd-topology"
let cleanup = Cleanup(work: NSTemporaryDirectory() + uniqueName("bench-e2e."), topologyScript: topologyScript)

runToTheEnd("bench-e2e", tearDown: cleanup.run) {
    let settings = try Settings(ProcessInfo.processInfo.environment)
    try requireRoot("bench-e2e (namespaces, XDP)")
    for tool in ["wrk", "iperf3", "haproxy", "nginx", "curl", "python3", "taskset"] where !onPath(tool) {
        throw BenchError("\(tool) missing (make bench-e2e installs it)")
    }
    guard FileManager.default.fileExists(atPath: Proxy.stockModule) else {
        throw BenchError("\(Proxy.stockModule) missing: apt-get install libnginx-mod-stream")
    }
    try FileManager.default.createDirectory(atPath: cleanup.work, withIntermediateDirectories: true)
    var run = try BenchE2ERun(settings: settings, cleanup: cleanup)
    try run.measure()
}

/// `line` on stdout at once, also into a pipe: the progress as it comes.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Whether `tool` is an executable in a directory of $PATH.
func onPath(_ tool: String) -> Bool {
    (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        .contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
}
