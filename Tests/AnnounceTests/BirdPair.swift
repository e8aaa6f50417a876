import Foundation
import TestSupport
import XCTest

/// Two real BIRD 2 daemons in two network namespaces joined by a veth, peering over
/// IPv4 and IPv6: the node's, which includes the routes file lbd writes and exports
/// its static protocols, and the router's, which installs what it learns in its kernel
/// table. Names are unique per run; everything is removed at the end, also on failure.
final class BirdPair {
    let name: String
    let directory: String
    var routesFile: String { directory + "/routes/vips.conf" }
    var nodeSocket: String { directory + "/node.ctl" }
    var routerSocket: String { directory + "/router.ctl" }
    var nodeNamespace: String { name + "-node" }
    var routerNamespace: String { name + "-router" }

    init(_ test: XCTestCase) throws {
        try requireRoot("BIRD in network namespaces")
        name = uniqueName("bp-")
        directory = NSTemporaryDirectory() + name
        test.addTeardownBlock { [self] in tearDown() }
        try FileManager.default.createDirectory(atPath: directory + "/routes", withIntermediateDirectories: true)
        for namespace in [nodeNamespace, routerNamespace] {
            try shell(["/usr/sbin/ip", "netns", "add", namespace])
            try shell(["/usr/sbin/ip", "-n", namespace, "link", "set", "lo", "up"])
        }
        try shell(["/usr/sbin/ip", "link", "add", "\(name)-n", "netns", nodeNamespace, "type", "veth",
                   "peer", "name", "\(name)-r", "netns", routerNamespace])
        for (namespace, device, last) in [(nodeNamespace, "\(name)-n", 1), (routerNamespace, "\(name)-r", 2)] {
            try shell(["/usr/sbin/ip", "-n", namespace, "addr", "add", "10.199.0.\(last)/24", "dev", device])
            try shell(["/usr/sbin/ip", "-n", namespace, "addr", "add", "fd00:199::\(last)/64", "dev", device, "nodad"])
            try shell(["/usr/sbin/ip", "-n", namespace, "link", "set", device, "up"])
        }
        try writeConfigs()
        try startBird(.node)
        try startBird(.router)
    }

    enum Role: String { case node, router }

    private func writeConfigs() throws {
        // Short timers: the session is up within a second or two of a start.
        let timers = "hold time 3; keepalive time 1; connect retry time 1; connect delay time 1;"
        try """
            router id 10.199.0.1;
            protocol device {}
            include "\(directory)/routes/*.conf";
            protocol bgp router4 {
                local 10.199.0.1 as 65001; neighbor 10.199.0.2 as 65000; \(timers)
                ipv4 { import none; export where proto = "lbd_vips4"; next hop self; };
            }
            protocol bgp router6 {
                local fd00:199::1 as 65001; neighbor fd00:199::2 as 65000; \(timers)
                ipv6 { import none; export where proto = "lbd_vips6"; next hop self; };
            }

            """.write(toFile: directory + "/node.conf", atomically: true, encoding: .utf8)
        try """
            router id 10.199.0.2;
            protocol device {}
            protocol kernel { ipv4 { export all; }; }
            protocol kernel { ipv6 { export all; }; }
            protocol bgp node4 {
                local 10.199.0.2 as 65000; neighbor 10.199.0.1 as 65001; \(timers)
                ipv4 { import all; export none; };
            }
            protocol bgp node6 {
                local fd00:199::2 as 65000; neighbor fd00:199::1 as 65001; \(timers)
                ipv6 { import all; export none; };
            }

            """.write(toFile: directory + "/router.conf", atomically: true, encoding: .utf8)
    }

    /// BIRD daemonizes with its output in a log and none of this process's descriptors
    /// (Foundation's Process waits until every copy of its pipes is closed).
    func startBird(_ role: Role) throws {
        let namespace = role == .node ? nodeNamespace : routerNamespace
        let base = directory + "/" + role.rawValue
        try shell(["/bin/bash", "-c", #"for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done; "#
                + "exec nsenter --net=/run/netns/\(namespace) bird -c \(base).conf -s \(base).ctl "
                + "-P \(base).pid >>\(base).log 2>&1 </dev/null"])
        try waitForBlocking("BIRD \(role) starting") { access(base + ".ctl", F_OK) == 0 }
    }

    /// SIGKILL: no goodbye to the peer, which keeps the routes until its hold timer.
    func killBird(_ role: Role) throws {
        let base = directory + "/" + role.rawValue
        guard let pid = Int32((try? String(contentsOfFile: base + ".pid", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") else { return }
        kill(pid, SIGKILL)
        try waitForBlocking("BIRD \(role) exiting", every: .milliseconds(10)) { kill(pid, 0) != 0 }
        unlink(base + ".ctl")
    }

    /// The VIP routes the router's kernel learnt from BIRD: `10.0.0.10/32`-style prefixes.
    func routerKernelRoutes() throws -> [String] {
        let v4 = try shell(["/usr/sbin/ip", "-n", routerNamespace, "-4", "route", "show", "proto", "bird"])
        let v6 = try shell(["/usr/sbin/ip", "-n", routerNamespace, "-6", "route", "show", "proto", "bird"])
        return (v4.split(separator: "\n").map { $0.split(separator: " ")[0] + "/32" }
            + v6.split(separator: "\n").map { $0.split(separator: " ")[0] + "/128" }).map(String.init).sorted()
    }

    /// Polls until the router's kernel has exactly `routes` (within `timeout`, generous:
    /// a BGP session may still be coming up).
    func waitForRouterRoutes(_ routes: [String], timeout: Duration = .seconds(20)) async throws {
        try await waitFor("the router having \(routes.sorted()) (it has \((try? routerKernelRoutes()) ?? [])); node log:\n"
                              + ((try? String(contentsOfFile: directory + "/node.log", encoding: .utf8)) ?? ""),
                          within: timeout, every: .milliseconds(100)) {
            try routerKernelRoutes() == routes.sorted()
        }
    }

    /// `birdc -s ROUTER show route all PREFIX`: the router's view of one route.
    func routerRoute(_ prefix: String) throws -> String {
        try shell(["/usr/sbin/birdc", "-s", routerSocket, "show", "route", "all", prefix])
    }

    private func tearDown() {
        try? killBird(.node)
        try? killBird(.router)
        for namespace in [nodeNamespace, routerNamespace] { _ = try? runProcess("/usr/sbin/ip", ["netns", "del", namespace]) }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
