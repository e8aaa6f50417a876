import Balancer
import CLBABI
import Daemon
import Datapath
import Foundation
import LBDAPI
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
        try requireRoot("the daemon's kernel tests")
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

    /// lbd started on `config` and stopped with SIGTERM: the datapath it leaves pinned.
    private func runOnce(_ config: String) async throws {
        try await stopCleanly(try await start(config))
    }

    private func stopCleanly(_ daemon: DaemonProcess) async throws {
        let exit = try await daemon.stop(SIGTERM)
        XCTAssertEqual(exit, 0, daemon.output)
    }

    /// lbd on `config` exits 78 (a configuration error systemd does not restart) saying `reason`.
    private func expectRefusal(_ config: String, _ reason: String) async throws {
        let refused = try DaemonProcess(network: network, config: config, log: directory + "/refused.log")
        let exit = try await refused.waitForExit()
        XCTAssertEqual(exit, 78, refused.output)
        XCTAssertTrue(refused.output.contains(reason), refused.output)
    }

    /// The pinned datapath, adopted by the test as a restarted daemon would.
    private func openPins() throws -> BalancerDatapath {
        let datapath = try BalancerDatapath.open(pinDirectory: pins, limits: try DatapathSettings.limits(limits))
        XCTAssertTrue(datapath.adopted)
        return datapath
    }

    /// SYNs through the pinned program (BPF_PROG_TEST_RUN): each leaves a connection entry.
    private func openFlows(_ datapath: BalancerDatapath, count: UInt16) throws {
        for port in 40000..<(40000 + count) {
            XCTAssertEqual(try datapath.testRun(frame: clientFrame(sport: port)).action, 3, "XDP_TX")
        }
    }

    private func connectionKeys(_ datapath: BalancerDatapath) throws -> Set<[UInt8]> {
        Set(try datapath.connTable.keys().map { key in withUnsafeBytes(of: key) { Array($0) } })
    }

    private func status() async throws -> NSDictionary {
        try json(try await LBDClient(socketPath: socket).send(.get("/v1/status")).body)
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

        let edit = try await LBDClient(socketPath: socket).send(
            .post("/v1/edit", json: #"{"op":"add_backend","vip":"10.0.0.10:80/tcp","address":"192.0.2.13","weight":50}"#))
        XCTAssertEqual(edit.status, 200, edit.text)
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
            let services = try await LBDClient(socketPath: socket).send(.get("/v1/services")).text
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

        let before = try openPins()
        let kept = [before.backends.id, before.backendStats.id, before.config.id, before.globalStats.id]
        let replaced = [before.vipMap.id, before.vips.id, before.rings.id, before.vipStats.id, before.connTable.id]
        let resized = try writeConfig(maxVIPs: 16)
        try await expectRefusal(resized, "Start once with --reset-datapath")
        XCTAssertEqual(try network.attachedProgramID(), programID, "nothing changed")

        let reset = try await start(resized, ["--reset-datapath"])
        XCTAssertNotEqual(try network.attachedProgramID(), programID, "a new program replaced the old one")
        let after = try BalancerDatapath.open(pinDirectory: pins, limits: try DatapathSettings.limits(
            Limits(maxVIPs: 16, maxBackends: 16, ringSize: 1009, connectionTable: 4096)))
        XCTAssertEqual([after.backends.id, after.backendStats.id, after.config.id, after.globalStats.id], kept,
                       "the pins that matched are kept: \(reset.output)")
        for (old, new) in zip(replaced, [after.vipMap.id, after.vips.id, after.rings.id, after.vipStats.id,
                                         after.connTable.id]) {
            XCTAssertNotEqual(old, new, "max_vips: the VIP maps, and the connections naming their indices, are new")
        }
        let fresh = try await status()
        XCTAssertEqual((fresh["datapath"] as? NSDictionary)?["adopted"] as? Bool, false)
        let services = try await LBDClient(socketPath: socket).send(.get("/v1/services")).text
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

    /// Maps created for another LB_ABI_VERSION (a struct that changed meaning): refused
    /// with exit 78 and nothing changed; --reset-datapath replaces every pin.
    func testMapsOfAnotherABIAreRefusedUntilResetThenAllReplaced() async throws {
        let config = try writeConfig()
        try await runOnce(config)
        let programID = try network.attachedProgramID()
        let before = try openPins()
        try openFlows(before, count: 4)
        try shell("bpftool", "map", "update", "pinned", pins + "/abi", "key", "0", "0", "0", "0",
                  "value", "0x63", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0")

        try await expectRefusal(config, "the maps were created for LB_ABI_VERSION 99; this binary uses \(LB_ABI_VERSION)")
        XCTAssertEqual(try network.attachedProgramID(), programID, "nothing changed")
        XCTAssertEqual(try connectionKeys(before).count, 4)

        let reset = try await start(config, ["--reset-datapath"])
        let after = try openPins()
        XCTAssertEqual(try network.attachedProgramID(), Int(after.program.id))
        for (old, new) in zip([before.vipMap.id, before.backends.id, before.connTable.id, before.globalStats.id, before.config.id],
                              [after.vipMap.id, after.backends.id, after.connTable.id, after.globalStats.id, after.config.id]) {
            XCTAssertNotEqual(old, new, "every map is new")
        }
        XCTAssertEqual(try connectionKeys(after).count, 0)
        try await stopCleanly(reset)
    }

    /// An upgrade: the interface runs another build of the balancer (here one whose outer
    /// TTL is 63, standing for the previous lbd) over the pinned maps. lbd loads its own
    /// program over the same maps and swaps the attachment: the connections, counters and
    /// rings stay (same maps, same entries) and established flows go on, through the new code.
    func testAnUpgradeReplacesTheProgramAndKeepsTheMaps() async throws {
        let config = try writeConfig()
        try await runOnce(config)

        let build = try BalancerVariant(edits: [BalancerVariant.ttl63])
        addTeardownBlock { build.remove() }
        let previous = try BalancerDatapath.open(pinDirectory: pins, limits: try DatapathSettings.limits(limits),
                                                 objectPath: build.object)
        try shell("nsenter", "--net=/run/netns/\(network.namespace)", "ip", "-force", "link", "set", "dev",
                  network.interface, "xdpdrv", "pinned", pins + "/balancer")
        XCTAssertEqual(try network.attachedProgramID(), Int(previous.program.id))
        try openFlows(previous, count: 8)
        let flows = try connectionKeys(previous)
        let counters = try previous.globalCounters()
        let mapIDs = [previous.vipMap.id, previous.backends.id, previous.rings.id, previous.connTable.id,
                      previous.globalStats.id]

        let daemon = try await start(config)
        let current = try BalancerDatapath.open(pinDirectory: pins, limits: try DatapathSettings.limits(limits))
        XCTAssertTrue(current.adopted)
        XCTAssertNotEqual(current.program.id, previous.program.id, daemon.output)
        XCTAssertEqual(try network.attachedProgramID(), Int(current.program.id), "the new program is attached")
        let upgraded = try await status()
        XCTAssertEqual(upgraded["datapath"] as? NSDictionary,
                       ["attached": "native", "interface": network.interface, "adopted": false], "in the same mode")
        XCTAssertTrue(daemon.output.contains("another build"), daemon.output)
        XCTAssertTrue(daemon.output.contains("msg=\"first reconcile done\" vips=1 writes=0"), daemon.output)
        XCTAssertEqual([current.vipMap.id, current.backends.id, current.rings.id, current.connTable.id,
                        current.globalStats.id], mapIDs, "the same maps")
        XCTAssertEqual(try connectionKeys(current), flows, "connection entries intact")
        XCTAssertEqual(try current.globalCounters(), counters, "counters intact")

        let result = try current.testRun(frame: clientFrame(flags: Packet.TCPFlag.ack))
        XCTAssertEqual(result.action, 3, "XDP_TX")
        XCTAssertEqual(result.output[14 + 8], 64, "outer TTL of the new build")
        XCTAssertEqual(try current.counter(LB_STAT_NEW_FLOW), counters[Int(LB_STAT_NEW_FLOW.rawValue)],
                       "the established flow used its entry")
        try await stopCleanly(daemon)
    }

    /// A daemon that died between writing a VIP's key and its address (or filter bit)
    /// leaves the VIP unreachable; the next start derives both from vip_map.
    func testAStartRepairsTheVIPAddressesFromTheVIPMap() async throws {
        let config = try writeConfig()
        let first = try await start(config)
        let stopped = try await first.stop(SIGKILL)
        XCTAssertEqual(stopped, SIGKILL)
        let datapath = try openPins()
        let address = try XCTUnwrap(try datapath.vipAddrs.keys().first)
        let filter = try XCTUnwrap(try datapath.vipFilter.lookup(key: 0))
        XCTAssertTrue(try datapath.vipAddrs.delete(key: address))
        try datapath.vipFilter.update(key: 0, value: lb_vip_filter())

        let daemon = try await start(config)
        XCTAssertEqual(try datapath.vipAddrs.lookup(key: address), 1, daemon.output)
        XCTAssertEqual(withUnsafeBytes(of: try XCTUnwrap(try datapath.vipFilter.lookup(key: 0))) { Array($0) },
                       withUnsafeBytes(of: filter) { Array($0) })
        XCTAssertTrue(daemon.output.contains("vip_addrs and vip_filter repaired"), daemon.output)
        try await stopCleanly(daemon)
    }

    /// A first start whose `services:` put a VIP on the interface's own address is refused
    /// (exit 78, the VIP named) and saves nothing: a seed cannot say `force`.
    func testASeedVIPOnTheHostsOwnAddressIsRefused() async throws {
        let config = directory + "/lbd.yaml"
        try writeDaemonConfig(to: config, network: network, socket: socket, directory: directory, pins: pins,
                              limits: "{ max_vips: 8, max_backends: 16, ring_size: 1009, connection_table: 4096 }",
                              services: """
                                - vip: 10.0.0.10:80/tcp
                                - vip: 192.168.200.2:0/tcp
                              """)
        try await expectRefusal(config, "services: VIP 192.168.200.2:0/tcp: 192.168.200.2 is an address of this host; "
            + "a VIP there takes the host's own traffic to every port (SSH, BGP); force it to mean it; "
            + "a seed cannot force: nothing seeded.")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/state/state.json"), "a refused seed was saved")
    }

    /// `xdp_mode: auto` on an interface whose driver refuses native XDP (a veth whose
    /// peer's MTU is too large for it): generic mode, said in the log and the status.
    func testAutoModeFallsBackToGeneric() async throws {
        try shell("ip", "link", "set", network.peer, "mtu", "9000")
        let daemon = try await start(try writeConfig())
        let datapath = try openPins()
        XCTAssertEqual(try network.attachedProgramID(), Int(datapath.program.id))
        let link = try shell("ip", "-n", network.namespace, "-d", "link", "show", network.interface)
        XCTAssertTrue(link.contains(" xdpgeneric "), link)
        let current = try await status()
        XCTAssertEqual((current["datapath"] as? NSDictionary)?["attached"] as? String, "generic")
        XCTAssertTrue(daemon.output.contains("native mode failed"), daemon.output)
        XCTAssertTrue(daemon.output.contains("falling back to generic mode"), daemon.output)
        try await stopCleanly(daemon)
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
        try? await waitFor("the MTU reloaded") { try datapath.config.lookup(key: 0)?.mtu == 9000 }
        XCTAssertEqual(try datapath.config.lookup(key: 0)?.mtu, 9000, daemon.output)
        XCTAssertTrue(daemon.output.contains("msg=\"configuration reloaded\" changed=\"mtu 1500 -> 9000\""), daemon.output)

        kill(daemon.process.processIdentifier, SIGTERM)
        XCTAssertTrue(receive().hasPrefix("STOPPING=1"))
        let exit = try await daemon.waitForExit()
        XCTAssertEqual(exit, 0)
    }
}
