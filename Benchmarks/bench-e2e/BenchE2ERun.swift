import BenchSupport
import Foundation
import TestSupport

/// One run of the benchmark: the header, the LB-only rate, the rounds, the medians and
/// the ratios, printed as they come.
struct BenchE2ERun {
    let settings: Settings
    let cleanup: Cleanup
    private var figures = Figures()
    private var said: Set<String> = []
    /// Packets lbd's balancer sent to the backends over the rounds, by XDP mode.
    private var lbdSent: [String: Int] = [:]
    private let runID = uniqueName("be2e-")
    /// The ones built next to this binary: lbd and lbctl for lbd's modes, lb-only-bench.
    private let lbd: String?, lbctl: String?, lbOnlyBench: String?

    init(settings: Settings, cleanup: Cleanup) throws {
        self.settings = settings
        self.cleanup = cleanup
        let lbdModes = settings.wants("lbd-generic") || settings.wants("lbd-native")
        lbd = lbdModes ? try LBDBinary.path : nil
        lbctl = lbdModes ? try LbctlBinary.path : nil
        lbOnlyBench = settings.wants("lb-only") ? try builtProduct("lb-only-bench") : nil
    }

    mutating func measure() throws {
        try printHeader()
        raiseFileLimit()
        if settings.wants("lb-only") { try lbOnly() }
        let modes = ["direct", "haproxy", "nginx", "lbd-generic", "lbd-native"].filter(settings.wants)
        if !modes.isEmpty { try rounds(modes) }
        say("bench-e2e load \(try loadAverage()) at the end")
        for metric in Settings.metrics {
            for lbd in ["lbd-native", "lbd-generic"] {
                for proxy in ["haproxy", "nginx"] {
                    if let line = figures.ratio(lbd, proxy, metric) { say(line) }
                }
            }
        }
    }

    private func printHeader() throws {
        let cpu = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8).split(separator: "\n")
            .first { $0.hasPrefix("model name") }.map { $0.split(separator: ":", maxSplits: 1).last?
                .trimmingCharacters(in: .whitespaces) ?? "" } ?? ""
        let date = ISO8601DateFormatter().string(from: Date())
        let nproc = ProcessInfo.processInfo.activeProcessorCount
        say("bench-e2e machine nproc=\(nproc) kernel=\(try shell("uname", "-r").trimmingCharacters(in: .newlines))"
            + " date=\(date) cpu=\"\(cpu)\"")
        let wrkVersion = try runProcess("/usr/bin/env", ["wrk", "--version"])
        let wrk = word(1, ofFirstLine: wrkVersion.stdout + wrkVersion.stderr)
        say("bench-e2e tools wrk=\"\(wrk)\" iperf3=\(word(1, ofFirstLine: try shell("iperf3", "--version")))"
            + " haproxy=\(try Proxy.haproxyVersion()) nginx=\(try Proxy.nginxVersion())")
        say("bench-e2e load \(try loadAverage()) (1, 5, 15 min: other work on the machine shares its CPUs)")
        say("bench-e2e settings runs=\(settings.runs) seconds=\(settings.seconds) wrk_threads=\(settings.threads)"
            + " wrk_connections=\(settings.connections) lb_only_repeat=\(settings.repeatCount)")
    }

    private func loadAverage() throws -> String {
        try String(contentsOfFile: "/proc/loadavg", encoding: .utf8).split(separator: " ").prefix(3).joined(separator: " ")
    }

    /// What the machine allows: the proxies need two descriptors a connection.
    private func raiseFileLimit() {
        var limit = rlimit()
        let files = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        if getrlimit(files, &limit) == 0 {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(files, &limit)
        }
    }

    private func note(_ text: String) { say("# " + text) }

    /// A note, the first time only.
    private mutating func once(_ key: String, _ text: String) {
        if said.insert(key).inserted { note(text) }
    }

    /// Live frames out of veth gen0 into gen1 (bench_sink), in a namespace of their own,
    /// on the last CPU.
    private func lbOnly() throws {
        let namespace = runID + "-gen", cpu = ProcessInfo.processInfo.activeProcessorCount - 1
        cleanup.addedNamespace(namespace)
        try shell("ip", "netns", "add", namespace)
        try shell("ip", "netns", "exec", namespace, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                  "net.ipv6.conf.default.disable_ipv6=1")
        try shell("ip", "-n", namespace, "link", "add", "gen0", "type", "veth", "peer", "name", "gen1")
        try shell("ip", "-n", namespace, "link", "set", "gen0", "up")
        try shell("ip", "-n", namespace, "link", "set", "gen1", "up")
        note("lb-only: live frames (BPF_F_TEST_XDP_LIVE_FRAMES) out of veth gen0 into gen1 (bench_sink), CPU \(cpu)")
        let output = try shell("nsenter", "--net=/run/netns/\(namespace)", "taskset", "-c", "\(cpu)", lbOnlyBench!,
                               "--interface", "gen0", "--peer", "gen1", "--repeat", "\(settings.repeatCount)",
                               "--runs", "\(settings.runs)")
        say(output.trimmingCharacters(in: .newlines))
        try shell("ip", "netns", "del", namespace)
    }

    /// Both topologies up at once, so that the rounds interleave the modes: every round
    /// measures every mode, and a change in the machine's load meets all of them.
    private mutating func rounds(_ modes: [String]) throws {
        // lbd-topology prepares the pin directories with this lbd.
        let lbdDirectory = URL(fileURLWithPath: try lbd ?? LBDBinary.path).deletingLastPathComponent().path
        func bringUp(_ suffix: String, _ mode: String) throws -> Topology {
            try Topology(runID + suffix, mode: mode, script: cleanup.topologyScript, lbdDirectory: lbdDirectory, cleanup: cleanup)
        }
        let generic = modes.contains { $0 != "lbd-native" } ? try bringUp("-g", "generic") : nil
        let native = modes.contains("lbd-native") ? try bringUp("-n", "native") : nil
        let vip = try (generic ?? native!).value("VIP4")
        for round in 1...settings.runs {
            for metric in Settings.metrics {
                for mode in modes {
                    switch mode {
                    case "direct":
                        once("direct", "direct: client to b1's own address, no balancer")
                        try measure(mode, metric, on: generic!, host: try generic!.value("B1_IP4"))
                    case "haproxy", "nginx":
                        let proxy = try Proxy(mode, on: generic!, work: cleanup.work, cleanup: cleanup) { once(mode, $0) }
                        try measure(mode, metric, on: generic!, host: vip)
                        try proxy.stop(generic!)
                    default:
                        let xdpMode = String(mode.dropFirst("lbd-".count))
                        let topology = xdpMode == "native" ? native! : generic!
                        let balancer = try LBD(mode: xdpMode, on: topology, work: cleanup.work, lbd: lbd!, lbctl: lbctl!,
                                               cleanup: cleanup) { once(mode, $0) }
                        try measure(mode, metric, on: topology, host: vip)
                        lbdSent[xdpMode, default: 0] += try balancer.stop(topology)
                    }
                }
            }
            note("round \(round) of \(settings.runs) done")
        }
        for mode in ["lbd-generic", "lbd-native"] where settings.wants(mode) {
            note("\(mode): the balancer sent \(lbdSent[String(mode.dropFirst("lbd-".count))] ?? 0) packets to the backends over the rounds")
        }
        for mode in modes {
            for metric in Settings.metrics {
                if let line = figures.record(mode, metric) { say(line) }
            }
        }
    }

    /// One run of `metric` through `mode` to `host` (the VIP, or b1 for direct).
    private mutating func measure(_ mode: String, _ metric: String, on topology: Topology, host: String) throws {
        let url = "http://\(host):\(Settings.httpPort)/"
        let figure: String?
        switch metric {
        case "conn_per_s":
            try checkAnswer(topology, url)
            figure = try wrk(topology, url, options: ["-H", "Connection: close"])
        case "req_per_s":
            try checkAnswer(topology, url)
            figure = try wrk(topology, url, options: [])
        default:
            figure = try iperf(topology, host)
        }
        if let figure { figures.add(mode, metric, figure) }
    }

    /// A backend's name comes back.
    private func checkAnswer(_ topology: Topology, _ url: String) throws {
        let answer: String
        do {
            answer = try topology.exec("client", ["curl", "-sS", "-m", "3", url]).trimmingCharacters(in: .newlines)
        } catch {
            throw BenchError("no answer from \(url): \(error)")
        }
        guard answer.wholeMatch(of: /b[0-9]+/) != nil else { throw BenchError("unexpected answer from \(url): \(answer)") }
    }

    /// One wrk run: requests per second, rounded. Socket errors and non-2xx answers are
    /// shown on stderr (the figure counts answered requests only).
    private func wrk(_ topology: Topology, _ url: String, options: [String]) throws -> String? {
        let output = try topology.exec("client", ["wrk", "-t", "\(settings.threads)", "-c", "\(settings.connections)",
                                                  "-d", "\(settings.seconds)s"] + options + [url])
        if output.contains("Socket errors") || output.contains("Non-2xx") {
            FileHandle.standardError.write(Data("bench-e2e: wrk \(options.joined(separator: " ")) \(url) reported errors:\n\(output)".utf8))
        }
        let line = output.split(separator: "\n").first { $0.hasPrefix("Requests/sec:") }
        return line.flatMap { Double(word(1, ofFirstLine: String($0))) }.map { String(Int(($0 + 0.5).rounded(.down))) }
    }

    /// Gbit/s received by the client in an iperf3 -R run.
    private func iperf(_ topology: Topology, _ host: String) throws -> String {
        let json = try topology.exec("client", ["iperf3", "-c", host, "-p", "\(Settings.iperfPort)", "-R",
                                                "-t", "\(settings.seconds)", "-J"])
        let report = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let received = (report?["end"] as? [String: Any])?["sum_received"] as? [String: Any]
        guard let bits = (received?["bits_per_second"] as? NSNumber)?.doubleValue else {
            throw BenchError("no end.sum_received.bits_per_second in iperf3's report: \(json.prefix(500))")
        }
        return String(format: "%.2f", bits / 1e9)
    }
}
