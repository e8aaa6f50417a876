import Balancer
import Foundation
import TestSupport
import XCTest

/// `lbd check --config FILE`, run as the operator runs it: the built binary, its exact
/// output and exit status.
final class CheckCommandTests: XCTestCase {
    /// A configuration whose one seed service is `vip`, with a state directory of its own.
    private func seededConfig(vip: String) throws -> (file: String, directory: String) {
        let directory = try temporaryDirectory(self)
        let file = directory + "/lbd.yaml"
        try """
            interface: eth0
            encap_source_v4: 172.16.0.0/16
            state_dir: \(directory)/state
            services:
              - vip: \(vip)
            """.write(toFile: file, atomically: true, encoding: .utf8)
        return (file, directory)
    }

    private func check(_ yaml: String) throws -> (ProcessOutput, String) {
        let file = try temporaryDirectory(self) + "/lbd.yaml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        return (try runProcess(try LBDBinary.path, ["check", "--config", file]), file)
    }

    /// What `lbd --version` prints: the VERSION file's version and the commit built.
    func testVersionNamesTheReleaseAndTheCommit() throws {
        let output = try runProcess(try LBDBinary.path, ["--version"])
        XCTAssertEqual(output, ProcessOutput(stdout: "lbd \(try SourceTree.version) (commit \(try SourceTree.commit))\n",
                                             stderr: "", status: 0))
    }

    func testAValidFileIsOK() throws {
        let (output, file) = try check("""
            interface: eth0
            gateway_mac: 02:00:00:00:00:01
            encap_source_v4: 172.16.0.0/16
            services:
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.11, weight: 100 }, { address: 192.0.2.12 } ]
            """)
        XCTAssertEqual(output, ProcessOutput(stdout: "\(file): ok\n", stderr: "", status: 0))
    }

    /// After the first start the state file is the truth: seed services edited in the file
    /// are reported (still exit 0: the file is valid), and so is a state file lbd cannot load.
    func testSeedServicesThatDifferFromTheSavedStateAreReported() throws {
        let (file, directory) = try seededConfig(vip: "10.0.0.10:80/tcp")
        let ok = "\(file): ok\n"
        let check = { try runProcess(try LBDBinary.path, ["check", "--config", file]) }
        XCTAssertEqual(try check(), ProcessOutput(stdout: ok, stderr: "", status: 0), "first start: nothing saved yet")

        let store = StateStore(directory: directory + "/state")
        try store.save(try DesiredState(yaml: "services:\n  - vip: 10.0.0.10:80/tcp\n", limits: Limits()))
        XCTAssertEqual(try check(), ProcessOutput(stdout: ok, stderr: "", status: 0), "the seed is what is saved")
        try store.save(try DesiredState(yaml: "services:\n  - vip: 10.0.0.20:80/tcp\n", limits: Limits()))
        XCTAssertEqual(try check(), ProcessOutput(stdout: ok, stderr: """
            \(file): warning: services: in the configuration differ from the saved state (\(store.path)): they seed \
            the first start only; use lbctl apply to change the running services

            """, status: 0))
        try "{".write(toFile: store.path, atomically: true, encoding: .utf8)
        let damaged = try check()
        XCTAssertEqual(damaged.status, 0)
        XCTAssertTrue(damaged.stderr.hasPrefix("\(file): warning: \(store.path): malformed state: "), damaged.stderr)
        XCTAssertTrue(damaged.stderr.contains("--recover-state"), damaged.stderr)
    }

    func testEveryErrorIsPrintedWithItsPosition() throws {
        let (output, file) = try check("""
            interface: eth0
            xdp_mode: fast
            mtu: 100
            colour: blue
            """)
        XCTAssertEqual(output.stdout, "")
        XCTAssertEqual(output.status, 1)
        XCTAssertEqual(output.stderr, """
            \(file):2:11: xdp_mode: bad XDP mode 'fast': expected native, generic or auto
            \(file):3:6: mtu: bad MTU '100': expected 0 (no check) or 1320...65535
            \(file):4:1: unknown key 'colour' in the configuration (expected one of: interface, xdp_mode, \
            gateway_mac, encap_source_v4, encap_source_v6, mtu, udp_idle_timeout, tcp_idle_timeout, tcp_linger, \
            api_socket, metrics_listen, state_dir, bpf_pin_dir, limits, announce, flood, services)

            """)
    }

    func testAnInvalidSeedServiceIsAnError() throws {
        let (output, file) = try check("""
            interface: eth0
            encap_source_v4: 172.16.0.0/16
            services:
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.11, weight: 70000 } ]
            """)
        XCTAssertEqual(output.status, 1)
        XCTAssertEqual(output.stderr, "\(file):5:48: VIP 10.0.0.10:80/tcp: backend 192.0.2.11 has weight 70000; weights are 0...65535\n")
    }

    /// A first start would refuse a seed VIP on one of this host's addresses (the check runs
    /// in a namespace whose interface holds 192.168.200.2); once a state file exists the
    /// seed is not used, and nothing is said.
    func testASeedVIPOnTheHostsOwnAddressIsAnErrorBeforeTheFirstStart() throws {
        try requireRoot("the daemon's kernel tests")
        let network = try NamespaceNetwork(self)
        let (file, directory) = try seededConfig(vip: "192.168.200.2:8443/tcp")
        let check = {
            try runProcess("/usr/bin/nsenter", ["--net=/run/netns/\(network.namespace)", try LBDBinary.path,
                                                "check", "--config", file])
        }
        XCTAssertEqual(try check(), ProcessOutput(stdout: "", stderr: """
            \(file): services: VIP 192.168.200.2:8443/tcp: 192.168.200.2 is an address of this host; a VIP there \
            takes the host's own traffic to port 8443; force it to mean it; a seed cannot force: nothing seeded. \
            Remove it from services: and add it after the start with lbctl vip add --force

            """, status: 1))
        XCTAssertEqual(try runProcess(try LBDBinary.path, ["check", "--config", file]).status, 0,
                       "not an address of the host outside the namespace")
        try StateStore(directory: directory + "/state").save(DesiredState())
        XCTAssertEqual(try check().status, 0, "with a state file the seed is not used")
    }

    func testAMissingFileIsAnError() throws {
        let output = try runProcess(try LBDBinary.path, ["check", "--config", "/nonexistent/lbd.yaml"])
        XCTAssertEqual(output, ProcessOutput(stdout: "", stderr: "/nonexistent/lbd.yaml: cannot read: No such file or directory\n",
                                             status: 1))
    }

    /// The example shipped with the package (config/lbd.yaml) is accepted as it is.
    func testTheShippedExampleIsValid() throws {
        let example = SourceTree.root + "/config/lbd.yaml"
        let output = try runProcess(try LBDBinary.path, ["check", "--config", example])
        XCTAssertEqual(output, ProcessOutput(stdout: "\(example): ok\n", stderr: "", status: 0))
    }
}
