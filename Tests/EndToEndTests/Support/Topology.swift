import Foundation
import TestSupport
import XCTest

/// One network of scripts/lbd-topology: client, router, LB and backends b1…bN in network
/// namespaces named after this run, torn down at the end of the test — also when it
/// fails, and when the run is interrupted (`InterruptTeardown`).
final class Topology {
    enum XDPMode: String { case native, generic }
    enum Family: String { case v4 = "4", v6 = "6" }

    static let script = SourceTree.root + "/scripts/lbd-topology"

    let name: String
    let backendCount: Int
    private let environment: [String: String]

    /// `birdNodes` > 0: a fleet of that many LB nodes, the VIPs routed to them by BGP
    /// (BIRD on the router and on every node; see scripts/lbd-topology).
    init(_ test: XCTestCase, backends: Int, mode: XDPMode = .native, birdNodes: Int = 0) throws {
        try requireRoot("the end-to-end tests (namespaces, XDP)")
        name = uniqueName("e2e-")
        backendCount = backends
        InterruptTeardown.shared.track(name)
        test.addTeardownBlock { [name] in
            _ = try? Self.run(["down", name])
            InterruptTeardown.shared.untrack(name)
        }
        try Self.run(["up", name, "--backends", String(backends), "--xdp-mode", mode.rawValue]
            + (birdNodes > 0 ? ["--bird", String(birdNodes)] : []))
        environment = Self.parse(try Self.run(["env", name]))
    }

    /// A variable of `lbd-topology env`.
    func value(_ key: String) throws -> String {
        guard let value = environment[key] else { throw EndToEndFailure("lbd-topology env \(name) has no \(key)") }
        return value
    }

    /// Backend `index`'s own address (the outer destination lbd encapsulates to).
    func backendAddress(_ index: Int, _ family: Family) throws -> String {
        try value("B\(index)_IP\(family.rawValue)")
    }

    /// The name backend `index`'s servers answer with.
    func backendName(_ index: Int) -> String { "b\(index)" }

    /// The `offset`-th address of the VIP prefix: every one of them reaches the LB and is
    /// local on every backend.
    func vip(_ family: Family, _ offset: Int) throws -> String {
        let prefix = try value("VIP_PREFIX\(family.rawValue)").split(separator: "/")[0]
        switch family {
        case .v4:
            let octets = prefix.split(separator: ".").compactMap { UInt32($0) }
            let address = octets.reduce(0) { $0 << 8 | $1 } + UInt32(offset)
            return (0..<4).reversed().map { String(address >> ($0 * 8) & 0xff) }.joined(separator: ".")
        case .v6:
            guard prefix.hasSuffix("::"), offset <= 0xffff else { throw EndToEndFailure("no VIP \(offset) in \(prefix)") }
            return prefix + String(offset, radix: 16)
        }
    }

    var httpPort: Int { get throws { try number("HTTP_PORT") } }
    var udpPort: Int { get throws { try number("UDP_PORT") } }

    private func number(_ key: String) throws -> Int {
        guard let number = Int(try value(key)) else { throw EndToEndFailure("\(key) is not a number") }
        return number
    }

    /// The MTU of every router–backend link, both ends: a smaller path between the LB and
    /// the backends.
    func setBackendPathMTU(_ mtu: Int) throws {
        try Self.run(["path-mtu", name, String(mtu)])
    }

    /// `COUNT` requests to each URL, each on a new connection; a tally per URL.
    func http(count: Int, _ urls: [String]) throws -> [Tally] {
        try client(["http", String(count)] + urls).map(Tally.decode)
    }

    func http(count: Int, _ url: String) throws -> Tally {
        try XCTUnwrap(http(count: count, [url]).first)
    }

    /// `COUNT` datagrams to the UDP echo, each from a new source port.
    func udp(count: Int, _ address: String) throws -> Tally {
        try Tally.decode(XCTUnwrap(client(["udp", String(count), address, String(udpPort)]).first))
    }

    /// One POST of `bytes` bytes; the backend's answer ("b1 received N bytes").
    func upload(_ url: String, bytes: Int) throws -> String {
        let line = try XCTUnwrap(client(["upload", url, String(bytes)]).first)
        return try XCTUnwrap(JSONDecoder().decode([String: String].self, from: Data(line.utf8))["answer"])
    }

    func url(_ address: String) throws -> String {
        let host = address.contains(":") ? "[\(address)]" : address
        return "http://\(host):\(try httpPort)/"
    }

    /// Kills backend `index`'s servers: its address still answers, its ports refuse.
    func serverStop(_ index: Int) throws {
        try Self.run(["server-stop", name, backendName(index)])
    }

    /// Starts backend `index`'s servers again.
    func serverStart(_ index: Int) throws {
        try Self.run(["server-start", name, backendName(index)])
    }

    /// `command` run in `role`'s namespace (client, router, lb, b1…bN); its stdout.
    @discardableResult
    func exec(_ role: String, _ command: [String]) throws -> String {
        try Self.run(["exec", name, role] + command)
    }

    /// The routes the router's kernel learnt by BGP: prefix (`10.112.0.10/32`) → the LB
    /// nodes' addresses it spreads flows over, sorted.
    func routerBGPRoutes() throws -> [String: [String]] {
        var routes: [String: [String]] = [:]
        for (family, length) in [("-4", 32), ("-6", 128)] {
            var current: String?
            for line in try exec("router", ["ip", family, "route", "show", "proto", "bird"]).split(separator: "\n") {
                let words = line.split(separator: " ").map(String.init)
                if !line.hasPrefix("\t"), !line.hasPrefix(" ") {
                    current = "\(words[0])/\(length)"
                    routes[current!] = []
                }
                if let via = words.firstIndex(of: "via"), via + 1 < words.count, let current {
                    routes[current, default: []].append(words[via + 1])
                }
            }
        }
        return routes.mapValues { $0.sorted() }
    }

    /// Polls (every 50 ms, up to `timeout`: loose, a session may be coming up) until the
    /// router's BGP routes are `expected`; returns how long that took.
    @discardableResult
    func waitForRouterRoutes(_ expected: [String: [String]], timeout: Duration = .seconds(20)) async throws -> Duration {
        let start = ContinuousClock.now
        try await waitFor("the router's BGP routes to be \(expected) (they are \((try? routerBGPRoutes()) ?? [:]))",
                          within: timeout, every: .milliseconds(50)) {
            try routerBGPRoutes() == expected
        }
        return ContinuousClock.now - start
    }

    /// `birdc show route all PREFIX` on the router.
    func routerRoute(_ prefix: String) throws -> String {
        try exec("router", ["birdc", "-s", value("ROUTER_BIRD_SOCKET"), "show", "route", "all", prefix])
    }

    /// kill -9 / start the BIRD of `role` (router, lb, lb2…).
    func birdStop(_ role: String) throws { try Self.run(["bird-stop", name, role]) }
    func birdStart(_ role: String) throws { try Self.run(["bird-start", name, role]) }

    /// The router's link to LB node `role` down: the node is lost.
    func linkDown(_ role: String) throws { try Self.run(["link-down", name, role]) }

    /// The arguments of a scripts/topology/client.py run in the client's namespace.
    func clientCommand(_ arguments: [String]) -> (executable: String, arguments: [String]) {
        (Self.script, ["client", name] + arguments)
    }

    private func client(_ arguments: [String]) throws -> [String] {
        try Self.run(["client", name] + arguments).split(separator: "\n").map(String.init)
    }

    @discardableResult
    private static func run(_ arguments: [String]) throws -> String {
        // The lbd under test prepares the pin directories (mounting bpffs if none is).
        let lbdDirectory = URL(fileURLWithPath: try LBDBinary.path).deletingLastPathComponent().path
        return try shell(["LBD_BIN_DIR=" + lbdDirectory, script] + arguments)
    }

    private static func parse(_ env: String) -> [String: String] {
        var values: [String: String] = [:]
        for line in env.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }
}

/// What a client run saw: answers by backend name, errors by kind ("reset", "refused",
/// "timeout", …), as scripts/topology/client.py prints them.
struct Tally: Decodable, Equatable, CustomStringConvertible {
    var answers: [String: Int]
    var errors: [String: Int] = [:]

    var description: String { "answers \(answers.sorted { $0.key < $1.key }), errors \(errors)" }

    static func decode(_ line: String) throws -> Tally {
        try JSONDecoder().decode(Tally.self, from: Data(line.utf8))
    }
}

struct EndToEndFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
