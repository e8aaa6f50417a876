import BenchSupport
import Foundation
import TestSupport

/// One scripts/lbd-topology network (client, router, lb, backends b1 and b2) with the
/// backends' servers: nginx on port 8080 answering its name ("b1\n") on every address,
/// and iperf3 on b1.
struct Topology {
    let name: String
    let script: String
    private let values: [String: String]

    /// Brings the topology up with the XDP mode `mode` (the lb's eth0), tunes every
    /// namespace for many short connections, and starts the servers.
    init(_ name: String, mode: String, script: String, lbdDirectory: String, cleanup: Cleanup) throws {
        self.name = name
        self.script = script
        cleanup.builtTopology(name)
        try shell(["LBD_BIN_DIR=" + lbdDirectory, script, "up", name, "--backends", "2", "--xdp-mode", mode])
        var values: [String: String] = [:]
        for line in try String(contentsOfFile: "/run/lbd-topology/\(name)/env", encoding: .utf8).split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        self.values = values
        for role in ["client", "lb", "b1", "b2"] { try tune(role) }
        for backend in ["b1", "b2"] { try startHTTP(backend, work: cleanup.work, cleanup: cleanup) }
        try startIperf("b1", work: cleanup.work, cleanup: cleanup)
    }

    /// A KEY of `lbd-topology env`.
    func value(_ key: String) throws -> String {
        guard let value = values[key] else { throw BenchError("lbd-topology env \(name) has no \(key)") }
        return value
    }

    /// `command` in `role`'s namespace (nsenter: bpffs stays visible); its stdout.
    @discardableResult
    func inNamespace(_ role: String, _ command: [String]) throws -> String {
        try shell(["nsenter", "--net=/run/netns/\(name)-\(role)"] + command)
    }

    /// `command` in `role`'s namespace through lbd-topology exec; its stdout.
    func exec(_ role: String, _ command: [String]) throws -> String {
        try shell([script, "exec", name, role] + command)
    }

    private func tune(_ role: String) throws {
        try inNamespace(role, ["sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65535", "net.ipv4.tcp_tw_reuse=1",
                               "net.core.somaxconn=8192", "net.ipv4.tcp_max_syn_backlog=8192"])
    }

    private func startHTTP(_ backend: String, work: String, cleanup: Cleanup) throws {
        let directory = "\(work)/\(name)-\(backend)-nginx"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try """
            worker_processes 1;
            worker_rlimit_nofile 16384;
            pid \(directory)/nginx.pid;
            error_log \(directory)/error.log warn;
            events { worker_connections 8192; }
            http {
                access_log off;
                keepalive_requests 1000000;
                client_body_temp_path \(directory)/body;
                proxy_temp_path \(directory)/proxy;
                fastcgi_temp_path \(directory)/fastcgi;
                uwsgi_temp_path \(directory)/uwsgi;
                scgi_temp_path \(directory)/scgi;
                server {
                    listen \(Settings.httpPort) backlog=8192;
                    location / { default_type text/plain; return 200 "\(backend)\\n"; }
                }
            }

            """.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
        try startDetaching(["nsenter", "--net=/run/netns/\(name)-\(backend)", "nginx", "-p", directory, "-c",
                            directory + "/nginx.conf", "-e", directory + "/error.log"], log: directory + "/start.log")
        try waitForFile(directory + "/nginx.pid")
        cleanup.started(try readPID(directory + "/nginx.pid"))
    }

    private func startIperf(_ backend: String, work: String, cleanup: Cleanup) throws {
        let pidFile = "\(work)/\(name)-\(backend)-iperf3.pid"
        try startDetaching(["nsenter", "--net=/run/netns/\(name)-\(backend)", "iperf3", "-s", "-p", "\(Settings.iperfPort)",
                            "-D", "-I", pidFile, "--logfile", "\(work)/\(name)-\(backend)-iperf3.log"],
                           log: "\(work)/\(name)-\(backend)-iperf3.start.log")
        try waitForFile(pidFile)
        cleanup.started(try readPID(pidFile))
    }
}
