import BenchSupport
import Foundation
import TestSupport

/// lbd's XDP balancer on the lb's eth0 (DSR: the backends answer the client directly):
/// the HTTP VIP over b1 and b2, the iperf3 VIP to b1 only (iperf3's two connections must
/// meet one server).
struct LBD {
    /// generic or native
    let mode: String
    let process: Process
    private let directory: String
    private let lbctl: String
    /// What the balancer had sent when this lbd started (the pins outlive it).
    private let packetsAtStart: Int

    init(mode: String, on topology: Topology, work: String, lbd: String, lbctl: String, cleanup: Cleanup,
         describe: (String) -> Void) throws {
        self.mode = mode
        self.lbctl = lbctl
        directory = "\(work)/lbd-\(mode)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let vip = try topology.value("VIP4"), (http, iperf) = (Settings.httpPort, Settings.iperfPort)
        try """
            interface: \(try topology.value("LB_IF"))
            xdp_mode: \(mode)
            gateway_mac: auto
            encap_source_v4: \(try topology.value("ENCAP_SOURCE4"))
            encap_source_v6: \(try topology.value("ENCAP_SOURCE6"))
            mtu: 1500
            api_socket: \(directory)/lbd.sock
            state_dir: \(directory)/state
            bpf_pin_dir: \(try topology.value("LBD_PIN_DIR"))
            limits: { max_vips: 16, max_backends: 16, ring_size: 65537, connection_table: 1000000 }
            services:
              - vip: "\(vip):\(http)/tcp"
                backends: [ { address: "\(try topology.value("B1_IP4"))" }, { address: "\(try topology.value("B2_IP4"))" } ]
              - vip: "\(vip):\(iperf)/tcp"
                backends: [ { address: "\(try topology.value("B1_IP4"))" } ]

            """.write(toFile: directory + "/lbd.yaml", atomically: true, encoding: .utf8)
        // nsenter execs lbd: the process is lbd.
        process = try startLogged(["nsenter", "--net=/run/netns/\(topology.name)-lb", lbd, "--config", directory + "/lbd.yaml",
                                   "--log-level", "warning"], log: directory + "/lbd.log")
        cleanup.started(process.processIdentifier)
        let (process, directory, lbctl) = (process, directory, lbctl)
        let log = { (try? String(contentsOfFile: directory + "/lbd.log", encoding: .utf8)) ?? "" }
        try waitForBlocking("lbd serving its API: \(log())", within: .seconds(30), every: .milliseconds(50)) {
            guard process.isRunning else { throw BenchError("lbd exited: \(log())") }
            return try runProcess(lbctl, ["--socket", directory + "/lbd.sock", "status"]).status == 0
        }
        let status = try shell(lbctl, "--socket", directory + "/lbd.sock", "status")
        let datapath = status.split(separator: "\n").first { $0.hasPrefix("datapath: ") }?.dropFirst("datapath: ".count) ?? ""
        guard datapath.hasPrefix("\(mode) XDP on ") else {
            throw BenchError("lbd-\(mode): lbctl status says the datapath is: \(datapath)")
        }
        describe("lbd (\(datapath)): \(vip):\(http) over b1 b2, \(vip):\(iperf) to b1, DSR")
        packetsAtStart = try Self.balancedPackets(lbctl: lbctl, socket: directory + "/lbd.sock")
    }

    /// Stops lbd and detaches its program, which lbd leaves attached when it stops (a
    /// restart adopts it): the proxies get the lb to themselves; the next start adopts the
    /// pins and attaches again. Returns the packets the balancer sent to the backends
    /// while it ran; none is a failure: the traffic did not go through the balancer.
    func stop(_ topology: Topology) throws -> Int {
        let sent = try Self.balancedPackets(lbctl: lbctl, socket: directory + "/lbd.sock") - packetsAtStart
        guard sent > 0 else { throw BenchError("lbd-\(mode) forwarded nothing: the traffic did not go through the balancer") }
        terminate(process.processIdentifier, within: .seconds(5)) { !process.isRunning }
        try shell("ip", "-n", "\(topology.name)-lb", "link", "set", "dev", try topology.value("LB_IF"),
                  mode == "native" ? "xdpdrv" : "xdpgeneric", "off")
        return sent
    }

    /// Packets the balancer sent to a backend, over every VIP (`lbctl status --json`).
    private static func balancedPackets(lbctl: String, socket: String) throws -> Int {
        let json = try shell(lbctl, "--socket", socket, "status", "--json")
        let status = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        guard let services = status?["services"] as? [[String: Any]] else { throw BenchError("no services in lbctl status --json") }
        return services.reduce(0) { $0 + (($1["packets"] as? NSNumber)?.intValue ?? 0) }
    }
}
