import BenchSupport
import Foundation
import TestSupport

/// HAProxy (mode tcp) and nginx (stream module) in the lb's namespace, listening on the
/// VIP (a local address of the lb while one runs): both directions through the proxy, to
/// the backends' own addresses.
struct Proxy {
    let kind: String
    let pid: pid_t
    static let stockModule = "/usr/lib/nginx/modules/ngx_stream_module.so"

    /// Starts `kind` (haproxy or nginx); `describe` gets its note the first time.
    init(_ kind: String, on topology: Topology, work: String, cleanup: Cleanup, describe: (String) -> Void) throws {
        self.kind = kind
        let vip = try topology.value("VIP4"), b1 = try topology.value("B1_IP4"), b2 = try topology.value("B2_IP4")
        let (http, iperf) = (Settings.httpPort, Settings.iperfPort)
        let directory = work + (kind == "haproxy" ? "/haproxy" : "/nginx-stream")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let pidFile = directory + (kind == "haproxy" ? "/haproxy.pid" : "/nginx.pid")
        try? FileManager.default.removeItem(atPath: pidFile)
        try Self.vipOnLB(topology, "add")
        let lb = ["nsenter", "--net=/run/netns/\(topology.name)-lb"]
        if kind == "haproxy" {
            try """
                global
                    maxconn 8000
                    log stderr format raw local0 err
                defaults
                    mode tcp
                    timeout connect 5s
                    timeout client 30s
                    timeout server 30s
                frontend http
                    bind \(vip):\(http) backlog 8192
                    default_backend http
                backend http
                    balance roundrobin
                    server b1 \(b1):\(http)
                    server b2 \(b2):\(http)
                frontend iperf
                    bind \(vip):\(iperf)
                    default_backend iperf
                backend iperf
                    server b1 \(b1):\(iperf)

                """.write(toFile: directory + "/haproxy.cfg", atomically: true, encoding: .utf8)
            try startDetaching(lb + ["haproxy", "-f", directory + "/haproxy.cfg", "-D", "-p", pidFile],
                               log: directory + "/start.log")
        } else {
            try """
                load_module \(Self.stockModule);
                worker_processes auto;
                worker_rlimit_nofile 16384;
                pid \(directory)/nginx.pid;
                error_log \(directory)/error.log error;
                events { worker_connections 8192; }
                stream {
                    upstream http { server \(b1):\(http); server \(b2):\(http); }
                    upstream iperf { server \(b1):\(iperf); }
                    server { listen \(vip):\(http) backlog=8192; proxy_pass http; }
                    server { listen \(vip):\(iperf); proxy_pass iperf; }
                }

                """.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
            try startDetaching(lb + ["nginx", "-p", directory, "-c", directory + "/nginx.conf", "-e", directory + "/error.log"],
                               log: directory + "/start.log")
        }
        try waitForFile(pidFile)
        pid = try readPID(pidFile)
        cleanup.started(pid)
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        describe(kind == "haproxy"
            ? "haproxy \(try Self.haproxyVersion()): mode tcp, threads: default (\(cpus)), roundrobin over b1 b2"
            : "nginx \(try Self.nginxVersion()): stream module, worker_processes auto (\(cpus)), round robin over b1 b2")
    }

    /// Stops the proxy and waits (10 s) until its workers have closed every listener.
    func stop(_ topology: Topology) throws {
        terminate(pid, within: .seconds(5))
        let listeners = { try topology.inNamespace("lb", ["ss", "-Hltnp", "( sport = :\(Settings.httpPort) or sport = :\(Settings.iperfPort) )"]) }
        try waitForBlocking("the proxy's listeners closing (open: \((try? listeners()) ?? "?"))", within: .seconds(10),
                            every: .milliseconds(50)) { try listeners().isEmpty }
        try Self.vipOnLB(topology, "del")
    }

    private static func vipOnLB(_ topology: Topology, _ verb: String) throws {
        try shell("ip", "-n", "\(topology.name)-lb", "addr", verb, try topology.value("VIP4") + "/32", "dev", "lo")
    }

    /// `haproxy -v`'s third word (HAProxy version 2.6.12-1 …).
    static func haproxyVersion() throws -> String {
        word(2, ofFirstLine: try shell("haproxy", "-v"))
    }

    /// What follows the last '/' of `nginx -v` (on stderr: nginx version: nginx/1.22.1).
    static func nginxVersion() throws -> String {
        let output = try runProcess("/usr/bin/env", ["nginx", "-v"])
        return String(output.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "/").last ?? "")
    }
}

/// The `index`th (from 0) blank-separated word of `text`'s first line, "" if none.
func word(_ index: Int, ofFirstLine text: String) -> String {
    let words = (text.split(separator: "\n").first ?? "").split(separator: " ")
    return index < words.count ? String(words[index]) : ""
}
