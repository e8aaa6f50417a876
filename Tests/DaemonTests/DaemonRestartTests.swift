import Balancer
import CLBABI
import Daemon
import Datapath
import Foundation
import PacketCraft
import TestSupport
import XCTest

/// The real lbd binary on a veth in a network namespace: an edit over the API lands in
/// the kernel maps; SIGTERM and kill -9 followed by a start adopt the running datapath
/// (same program, connection-table entries intact, no map write); pins of another
/// layout are refused until --reset-datapath.
final class DaemonRestartTests: XCTestCase {
    private let limits = Limits(maxVIPs: 8, maxBackends: 16, ringSize: 1009, connectionTable: 4096)
    private var network: NamespaceNetwork!
    private var directory = ""
    private var pins = ""
    private var socket: String { directory + "/run/lbd.sock" }

    override func setUpWithError() throws {
        guard geteuid() == 0 else { throw RootRequired() }
        network = try NamespaceNetwork(self)
        directory = try temporaryDirectory(self)
        pins = "/sys/fs/bpf/\(network.namespace)"
        addTeardownBlock { [pins] in _ = try? BalancerDatapath.removePins(pinDirectory: pins) }
    }

    private func writeConfig(maxVIPs: Int = 8, mtu: Int = 1500) throws -> String {
        let path = directory + "/lbd.yaml"
        try writeDaemonConfig(to: path, network: network, socket: socket, directory: directory, pins: pins,
                              limits: "{ max_vips: \(maxVIPs), max_backends: 16, ring_size: 1009, connection_table: 4096 }",
                              services: """
                                - vip: 10.0.0.10:80/tcp
                                  backends: [ { address: 192.0.2.11 }, { address: 192.0.2.12 } ]
                              """, extra: "mtu: \(mtu)\n")
        return path
    }

    private func start(_ config: String, _ arguments: [String] = []) async throws -> DaemonProcess {
        let daemon = try DaemonProcess(network: network, config: config, arguments: arguments, log: directory + "/lbd.log")
        try await daemon.waitForAPI(socket)
        return daemon
    }

    /// The pinned datapath, adopted by the test as a restarted daemon would.
    private func openPins() throws -> BalancerDatapath {
        let datapath = try BalancerDatapath.open(pinDirectory: pins, limits: try DatapathSettings.limits(limits))
        XCTAssertTrue(datapath.adopted)
        return datapath
    }

    /// SYNs through the pinned program (BPF_PROG_TEST_RUN): each leaves a connection entry.
    private func openFlows(_ datapath: BalancerDatapath, count: UInt16) throws {
        let client = Packet.ipv4("198.51.100.7"), vip = Packet.ipv4("10.0.0.10")
        for port in 40000..<(40000 + count) {
            let segment = Packet.tcp(src: client, dst: vip, sport: port, dport: 80, flags: Packet.TCPFlag.syn)
            let frame = Packet.ethernet(dst: Packet.mac("02:00:00:00:00:01"), src: Packet.mac("02:00:00:00:00:02"),
                                        type: Packet.ethIPv4,
                                        payload: Packet.ipv4(src: client, dst: vip, proto: Packet.tcp, payload: segment))
            XCTAssertEqual(try datapath.testRun(frame: frame).action, 3, "XDP_TX")
        }
    }

    private func connectionKeys(_ datapath: BalancerDatapath) throws -> Set<[UInt8]> {
        Set(try datapath.connTable.keys().map { key in withUnsafeBytes(of: key) { Array($0) } })
    }

    private func status() async throws -> NSDictionary {
        try json(try await UnixHTTPClient(path: socket).request("GET", "/v1/status").body)
    }

    func testAnEditReachesTheMapsAndRestartsAdoptTheRunningDatapath() async throws {
        let config = try writeConfig()
        var daemon = try await start(config)
        var datapath = try openPins()
        let programID = try XCTUnwrap(try network.attachedProgramID())
        XCTAssertEqual(UInt32(programID), datapath.program.id)
        let first = try await status()
        XCTAssertEqual(first["datapath"] as? NSDictionary, ["attached": "native", "interface": network.interface, "adopted": false])
        let config0 = try XCTUnwrap(try datapath.config.lookup(key: 0))
        XCTAssertEqual(withUnsafeBytes(of: config0.gateway_mac) { Array($0) }, [2, 0, 0, 0, 0xc8, 1], "gateway_mac auto")

        let edit = try await UnixHTTPClient(path: socket).request(
            "POST", "/v1/edit", body: #"{"op":"add_backend","vip":"10.0.0.10:80/tcp","address":"192.0.2.13","weight":50}"#)
        XCTAssertEqual(edit.status, 200, edit.body)
        let installed = try InstalledStateReader.read(datapath)
        let addresses = Dictionary(uniqueKeysWithValues: installed.backends.map { ($0.index, $0.address) })
        let ring = try XCTUnwrap(installed.vips.first { $0.key == (try VIPKey("10.0.0.10:80/tcp")) }).liveSlots
        var shares: [IPAddress: Int] = [:]
        for index in ring { shares[try XCTUnwrap(addresses[index]), default: 0] += 1 }
        let expected = try ["192.0.2.11", "192.0.2.12", "192.0.2.13"].map { try IPAddress($0) }
        XCTAssertEqual(Set(shares.keys), Set(expected))
        XCTAssertEqual(Double(shares[expected[0]]!) / Double(shares[expected[2]]!), 2, accuracy: 0.15, "weights 100:50")

        try openFlows(datapath, count: 32)
        let flows = try connectionKeys(datapath)
        XCTAssertEqual(flows.count, 32)
        let ringBefore = try datapath.readRing(vipIndex: installed.vips[0].index, ring: installed.vips[0].info.liveRing)
        datapath = try openPins()

        for signal in [SIGTERM, SIGKILL] {
            let exit = try await daemon.stop(signal)
            XCTAssertEqual(exit, signal == SIGTERM ? 0 : SIGKILL, daemon.output)
            XCTAssertEqual(try network.attachedProgramID(), programID, "forwarding continues while lbd is down")
            if signal == SIGTERM { XCTAssertNotEqual(access(socket, F_OK), 0, "the socket is removed on SIGTERM") }

            daemon = try await start(config)
            XCTAssertEqual(try network.attachedProgramID(), programID, "adopted, not reloaded (after \(signal))")
            let restarted = try await status()
            XCTAssertEqual((restarted["datapath"] as? NSDictionary)?["adopted"] as? Bool, true)
            XCTAssertEqual(try connectionKeys(datapath), flows, "connection entries intact (after \(signal))")
            XCTAssertEqual(try datapath.readRing(vipIndex: installed.vips[0].index, ring: installed.vips[0].info.liveRing),
                           ringBefore)
            XCTAssertTrue(daemon.output.contains("msg=\"first reconcile done\" vips=1 writes=0"), daemon.output)
            let services = try await UnixHTTPClient(path: socket).request("GET", "/v1/services").body
            XCTAssertTrue(services.contains("192.0.2.13"), "the acknowledged edit survived (after \(signal))")
        }
        let last = try await daemon.stop(SIGTERM)
        XCTAssertEqual(last, 0)
    }

    func testPinsOfAnotherLayoutAreRefusedUntilReset() async throws {
        let daemon = try await start(try writeConfig())
        let programID = try network.attachedProgramID()
        let stopped = try await daemon.stop(SIGTERM)
        XCTAssertEqual(stopped, 0)

        let resized = try writeConfig(maxVIPs: 16)
        let refused = try DaemonProcess(network: network, config: resized, log: directory + "/refused.log")
        let refusal = try await refused.waitForExit()
        XCTAssertEqual(refusal, 78, refused.output)
        XCTAssertTrue(refused.output.contains("Start once with --reset-datapath"), refused.output)
        XCTAssertEqual(try network.attachedProgramID(), programID, "nothing changed")

        let reset = try await start(resized, ["--reset-datapath"])
        XCTAssertNotEqual(try network.attachedProgramID(), programID, "a new program replaced the old one")
        let fresh = try await status()
        XCTAssertEqual((fresh["datapath"] as? NSDictionary)?["adopted"] as? Bool, false)
        let services = try await UnixHTTPClient(path: socket).request("GET", "/v1/services").body
        XCTAssertTrue(services.contains("192.0.2.12"), "the state is reinstalled into the new maps")
        let resetID = try network.attachedProgramID()
        let end = try await reset.stop(SIGTERM)
        XCTAssertEqual(end, 0)

        // The flag left on: compatible pins are adopted, not discarded.
        let again = try await start(resized, ["--reset-datapath"])
        XCTAssertEqual(try network.attachedProgramID(), resetID)
        let adopted = try await status()
        XCTAssertEqual((adopted["datapath"] as? NSDictionary)?["adopted"] as? Bool, true)
        let last = try await again.stop(SIGTERM)
        XCTAssertEqual(last, 0)
    }

    /// Under systemd: READY=1 once serving, a reload on SIGHUP rewrites lb_config,
    /// STOPPING=1 on SIGTERM.
    func testNotifiesSystemdAndReloadsOnSIGHUP() async throws {
        let notify = directory + "/notify"
        let listener = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(listener) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(notify.utf8)) }
        XCTAssertEqual(withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }, 0)
        func receive() -> String {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(listener, &buffer, buffer.count, 0)
            return count < 0 ? "" : String(decoding: buffer[..<count], as: UTF8.self)
        }

        let config = try writeConfig()
        let daemon = try DaemonProcess(network: network, config: config, environment: ["NOTIFY_SOCKET": notify],
                                       log: directory + "/lbd.log")
        let ready = receive()
        XCTAssertTrue(ready.hasPrefix("READY=1\nSTATUS=serving 1 VIPs on \(network.interface)"), ready)
        try await daemon.waitForAPI(socket)

        _ = try writeConfig(mtu: 9000)
        kill(daemon.process.processIdentifier, SIGHUP)
        let datapath = try openPins()
        let deadline = ContinuousClock.now + .seconds(10)
        while try datapath.config.lookup(key: 0)?.mtu != 9000, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        XCTAssertEqual(try datapath.config.lookup(key: 0)?.mtu, 9000, daemon.output)
        XCTAssertTrue(daemon.output.contains("msg=\"configuration reloaded\" changed=\"mtu 1500 -> 9000\""), daemon.output)

        kill(daemon.process.processIdentifier, SIGTERM)
        XCTAssertTrue(receive().hasPrefix("STOPPING=1"))
        let exit = try await daemon.waitForExit()
        XCTAssertEqual(exit, 0)
    }
}
