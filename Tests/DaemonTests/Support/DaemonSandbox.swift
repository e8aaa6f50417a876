import Balancer
import Daemon
import Datapath
import Foundation
import TestSupport
import XCTest

/// What a test of the real lbd starts from: its namespace network, a directory for the
/// configuration, state, socket and log, and a bpffs pin directory; all removed at the
/// end of the test, and every lbd started here killed then if still running.
final class DaemonSandbox {
    let network: NamespaceNetwork
    let directory: String
    var pins: String { "/sys/fs/bpf/\(network.namespace)" }
    var socket: String { directory + "/run/lbd.sock" }
    var log: String { directory + "/lbd.log" }
    private let test: XCTestCase

    /// The limits most tests run lbd with: as lbd.yaml's flow mapping, and as read by `openPins`.
    static let limitsYAML = "{ max_vips: 8, max_backends: 16, ring_size: 1009, connection_table: 4096 }"
    static let limits = Limits(maxVIPs: 8, maxBackends: 16, ringSize: 1009, connectionTable: 4096, backendFamilies: [.v4])

    init(_ test: XCTestCase) throws {
        try requireRoot("the daemon's kernel tests")
        self.test = test
        network = try NamespaceNetwork(test)
        directory = try temporaryDirectory(test)
        test.addTeardownBlock { [pins] in _ = try? BalancerDatapath.removePins(pinDirectory: pins) }
    }

    /// Writes lbd.yaml (see `writeDaemonConfig`) and starts lbd on it; returns once the API answers.
    func startDaemon(extra: String = "", limits: String = limitsYAML, services: String) async throws -> DaemonProcess {
        let config = directory + "/lbd.yaml"
        try writeDaemonConfig(to: config, network: network, socket: socket, directory: directory, pins: pins,
                              limits: limits, services: services, extra: extra)
        let daemon = try DaemonProcess(network: network, config: config, log: log)
        daemon.killAtTeardown(of: test)
        try await daemon.waitForAPI(socket)
        return daemon
    }

    /// The maps lbd pinned with `limits`, opened as the test reads them.
    func openPins() throws -> BalancerDatapath {
        try BalancerDatapath.open(pinDirectory: pins, limits: try DatapathSettings.limits(Self.limits))
    }
}
