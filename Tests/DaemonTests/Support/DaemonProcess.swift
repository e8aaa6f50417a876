import Foundation
import LBDAPI
import TestSupport
import XCTest

/// A veth pair whose lbd side lives in its own network namespace, with a default route
/// and a permanent neighbour entry for its gateway (what `gateway_mac: auto` resolves).
/// The peer has IPv6 off: otherwise its link-up chatter (MLD reports, DAD, router
/// solicitations, over the first seconds) reaches lbd's XDP program and counts as
/// passed packets in the middle of a test's exact counts.
/// Everything is named after the test run and removed at the end, even on failure.
final class NamespaceNetwork {
    static let gatewayMAC = "02:00:00:00:c8:01"
    let namespace: String
    let interface: String
    let peer: String

    init(_ test: XCTestCase) throws {
        let id = uniqueName()
        namespace = "lbd-it-\(id)"
        interface = "lbi\(id)"
        peer = "lbp\(id)"
        test.addTeardownBlock { [namespace, peer] in
            _ = try? shell("ip", "netns", "del", namespace)
            _ = try? shell("ip", "link", "del", peer)
        }
        for command in [
            ["ip", "netns", "add", namespace],
            ["ip", "link", "add", interface, "type", "veth", "peer", "name", peer],
            ["ip", "link", "set", interface, "netns", namespace],
            ["sysctl", "-qw", "net.ipv6.conf.\(peer).disable_ipv6=1"],
            ["ip", "link", "set", peer, "up"],
            ["ip", "-n", namespace, "link", "set", "lo", "up"],
            ["ip", "-n", namespace, "link", "set", interface, "up"],
            ["ip", "-n", namespace, "addr", "add", "192.168.200.2/24", "dev", interface],
            ["ip", "-n", namespace, "route", "add", "default", "via", "192.168.200.1"],
            ["ip", "-n", namespace, "neigh", "replace", "192.168.200.1", "lladdr", Self.gatewayMAC, "dev", interface,
             "nud", "permanent"],
        ] {
            try shell(command)
        }
    }

    /// The id of the XDP program attached to the interface, nil if none.
    func attachedProgramID() throws -> Int? {
        let output = try shell("ip", "-n", namespace, "-j", "link", "show", interface)
        let links = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]]
        return ((links?.first?["xdp"] as? [String: Any])?["prog"] as? [String: Any])?["id"] as? Int
    }
}

extension DaemonProcess {
    /// lbd on `network`'s interface.
    convenience init(network: NamespaceNetwork, config: String, arguments: [String] = [],
                     environment: [String: String] = [:], log: String, launcher: [String] = [],
                     wrapper: [String] = []) throws {
        try self.init(namespace: network.namespace, config: config, arguments: arguments, environment: environment,
                      log: log, launcher: launcher, wrapper: wrapper)
    }

    /// Kills lbd (SIGKILL) in `test`'s teardown if it is still running then: a test that
    /// fails before stopping it leaves no daemon behind holding the namespace and pins.
    func killAtTeardown(of test: XCTestCase) {
        let pid = process.processIdentifier
        test.addTeardownBlock { [process] in
            if process.isRunning { kill(pid, SIGKILL) }
        }
    }

    /// Waits until the log holds `text` `count` times: how a test knows that lbd has
    /// handled a signal, which has no other answer.
    func waitForOutput(_ text: String, count: Int, timeout: Duration = .seconds(30)) async throws {
        try await waitFor("lbd logging '\(text)' \(count) times:\n\(output)", within: timeout) {
            guard process.isRunning else { throw Failure("lbd exited (\(process.terminationStatus)):\n\(output)") }
            return output.components(separatedBy: text).count - 1 >= count
        }
    }

    /// Waits until the API answers on `socket`.
    func waitForAPI(_ socket: String, timeout: Duration = .seconds(30)) async throws {
        try await waitFor("lbd serving \(socket):\n\(output)", within: timeout, every: .milliseconds(50)) {
            guard process.isRunning else {
                throw Failure("lbd exited (\(process.terminationStatus)) before serving:\n\(output)")
            }
            return (try? await LBDClient(socketPath: socket).send(.get("/v1/services"))) != nil
        }
    }
}
