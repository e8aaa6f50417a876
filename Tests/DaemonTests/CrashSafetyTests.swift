import Balancer
import Daemon
import Datapath
import Foundation
import LBDAPI
import Maglev
import XCTest
import TestSupport

/// The real lbd binary killed with SIGKILL at random moments while edits stream in over
/// the API socket: every acknowledged edit survives, an edit whose answer was lost is
/// either wholly applied or absent, nothing else changes, state.json always parses, and
/// the pinned maps hold exactly the saved state. Replay a run with LBD_CRASH_SEED=<seed>.
final class CrashSafetyTests: XCTestCase {
    private static let ringSize = 4099
    private let limits = Limits(maxVIPs: 8, maxBackends: 64, ringSize: CrashSafetyTests.ringSize, connectionTable: 4096)
    private let vips = ["10.0.0.10:80/tcp", "10.0.0.11:443/tcp"]
    private let editCount = 60
    private var network: NamespaceNetwork!
    private var directory = ""
    private var pins = ""
    private var socket: String { directory + "/run/lbd.sock" }
    private var store: StateStore { StateStore(directory: directory + "/state") }

    /// VIP → backend address → weight, the part of the state the edits touch.
    private typealias Snapshot = [String: [String: Int]]

    private struct Edit {
        var vip: String
        var address: String
        var weight: Int
        var add: Bool

        var body: String {
            #"{"op":"\#(add ? "add_backend" : "set_weight")","vip":"\#(vip)","address":"\#(address)","weight":\#(weight)}"#
        }

        func applied(to snapshot: Snapshot) -> Snapshot {
            var result = snapshot
            result[vip, default: [:]][address] = weight
            return result
        }
    }

    override func setUpWithError() throws {
        try requireRoot("the daemon's kernel tests")
        network = try NamespaceNetwork(self)
        directory = try temporaryDirectory(self)
        pins = "/sys/fs/bpf/\(network.namespace)"
        addTeardownBlock { [pins] in _ = try? BalancerDatapath.removePins(pinDirectory: pins) }
    }

    private func writeConfig() throws -> String {
        let path = directory + "/lbd.yaml"
        try writeDaemonConfig(to: path, network: network, socket: socket, directory: directory, pins: pins,
                              limits: "{ max_vips: 8, max_backends: 64, ring_size: \(Self.ringSize), connection_table: 4096 }",
                              services: """
                                - vip: \(vips[0])
                                  backends: [ { address: 192.0.2.11 }, { address: 192.0.2.12 } ]
                                - vip: \(vips[1])
                                  backends: [ { address: 192.0.2.21 } ]
                              """)
        return path
    }

    private func start(_ config: String, log: String) async throws -> DaemonProcess {
        let daemon = try DaemonProcess(network: network, config: config, log: log)
        daemon.killAtTeardown(of: self)
        try await daemon.waitForAPI(socket)
        return daemon
    }

    private func snapshot(_ state: DesiredState) -> Snapshot {
        var result: Snapshot = [:]
        for service in state.sortedServices {
            var backends: [String: Int] = [:]
            for backend in service.backends {
                // A drained backend would be a change no edit made: it shows as a negative weight.
                backends[backend.address.description] = backend.drained ? -backend.weight : backend.weight
            }
            result[service.vip.description] = backends
        }
        return result
    }

    private func savedState() throws -> DesiredState {
        do {
            return try XCTUnwrap(try store.load(limits: limits), "state.json is missing from \(store.path)")
        } catch let error as StateStoreError {
            throw DaemonProcess.Failure("state.json does not load: \(error)")
        }
    }

    private func describe(_ snapshot: Snapshot) -> String {
        snapshot.keys.sorted().map { vip in
            "\(vip): " + (snapshot[vip] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }.joined(separator: "; ")
    }

    private static func send(_ body: String, on client: LBDClient) async -> Result<HTTPResponse, any Error> {
        do {
            return .success(try await client.send(.post("/v1/edit", json: body)))
        } catch {
            return .failure(error)
        }
    }

    func testAcknowledgedEditsSurviveKillNineAndTheMapsMatchTheState() async throws {
        let seed = ProcessInfo.processInfo.environment["LBD_CRASH_SEED"].flatMap { UInt64($0) }
            ?? UInt64.random(in: 0 ... .max)
        print("CrashSafetyTests seed: \(seed) (replay with LBD_CRASH_SEED=\(seed))")
        var random = SplitMix64(seed: seed)
        let kills = random.next(in: 3...5)
        let killAt = Set(random.shuffled(Array(4..<(editCount - 2))).prefix(kills))

        let config = try writeConfig()
        var daemon = try await start(config, log: directory + "/lbd-0.log")
        var client = LBDClient(socketPath: socket)
        var model = snapshot(try savedState())
        XCTAssertEqual(model.count, 2, "the configured services seed the state")
        var acknowledged: [Edit] = [], lost: [(edit: Edit, applied: Bool)] = [], nextAddress = 1, restarts = 0

        for index in 0..<editCount {
            // An edit: a new backend (distinct address) or a new weight for one the VIP has.
            let vip = vips[random.next(in: 0...1)]
            let existing = (model[vip] ?? [:]).keys.sorted()
            var edit: Edit
            if existing.count < 12, random.next(in: 0...9) < 5 || existing.isEmpty {
                edit = Edit(vip: vip, address: "198.18.0.\(nextAddress)", weight: random.next(in: 1...300), add: true)
                nextAddress += 1
            } else {
                let address = existing[random.next(in: 0...(existing.count - 1))]
                var weight = random.next(in: 1...300)
                if weight == model[vip]?[address] { weight += 300 }
                edit = Edit(vip: vip, address: address, weight: weight, add: false)
            }

            guard killAt.contains(index) else {
                let response = try await client.send(.post("/v1/edit", json: edit.body))
                XCTAssertEqual(response.status, 200, "edit \(index) \(edit.body): \(response.text)")
                guard response.status == 200 else { return }
                acknowledged.append(edit)
                model = edit.applied(to: model)
                continue
            }

            // kill -9 while the edit is in flight (or, with delay 0, possibly before it is read).
            let delay = random.next(in: 0...4000)
            let pid = daemon.process.processIdentifier, inFlight = client, body = edit.body
            async let answer = Self.send(body, on: inFlight)
            try await Task.sleep(for: .microseconds(delay))
            kill(pid, SIGKILL)
            let result = await answer
            let exit = try await daemon.waitForExit()
            XCTAssertEqual(exit, SIGKILL, daemon.output)
            restarts += 1

            let saved = snapshot(try savedState())
            switch result {
            case .success(let response):
                XCTAssertEqual(response.status, 200, "edit \(index) \(edit.body): \(response.text)")
                acknowledged.append(edit)
                model = edit.applied(to: model)
                XCTAssertEqual(saved, model, "after kill \(restarts) (seed \(seed)): the acknowledged edit \(edit.body) "
                               + "is missing or something else changed")
            case .failure:
                let withEdit = edit.applied(to: model)
                let applied = saved == withEdit
                XCTAssertTrue(applied || saved == model, """
                    after kill \(restarts) (seed \(seed)): the lost edit \(edit.body) is neither wholly applied nor absent
                    saved:    \(describe(saved))
                    without:  \(describe(model))
                    with:     \(describe(withEdit))
                    """)
                lost.append((edit, applied))
                if applied { model = withEdit }
            }
            let outcome = (try? result.get()).map { "answered \($0.status)" } ?? "answer lost"
            print("kill \(restarts) at edit \(index) after \(delay)µs: \(outcome)")

            daemon = try await start(config, log: directory + "/lbd-\(restarts).log")
            client = LBDClient(socketPath: socket)
            XCTAssertEqual(snapshot(try savedState()), model, "the restart changed nothing")
        }
        XCTAssertEqual(restarts, kills)
        print("\(acknowledged.count) acknowledged, \(lost.count) lost (\(lost.filter(\.applied).count) of them applied)")

        let stopped = try await daemon.stop(SIGTERM)
        XCTAssertEqual(stopped, 0, daemon.output)

        // The state: it parses, holds every acknowledged edit, and nothing else.
        let state = try savedState()
        XCTAssertEqual(snapshot(state), model, "seed \(seed)")
        for edit in acknowledged {
            XCTAssertNotNil(snapshot(state)[edit.vip]?[edit.address], "acknowledged \(edit.body) (seed \(seed))")
        }

        // The maps: the pinned datapath, adopted, holds exactly that state.
        let datapath = try BalancerDatapath.open(pinDirectory: pins, limits: try DatapathSettings.limits(limits))
        XCTAssertTrue(datapath.adopted)
        XCTAssertEqual(try datapath.vipMap.keys().count, state.services.count, "one vip_map entry per VIP")
        let installed = try InstalledStateReader.read(datapath)
        XCTAssertEqual(Set(installed.vips.map(\.key)), Set(state.services.keys), "every VIP key is in vip_map")
        XCTAssertEqual(Set(installed.backends.map(\.address)), Set(state.backendAddresses), "backend addresses")
        XCTAssertEqual(installed.backends.count, state.backendAddresses.count, "one backend entry per address")
        let addresses = Dictionary(uniqueKeysWithValues: installed.backends.map { ($0.index, $0.address) })
        for service in state.sortedServices {
            let entry = try XCTUnwrap(installed.vips.first { $0.key == service.vip }, "\(service.vip) not in vip_map")
            let active = service.backends.filter { !$0.drained && $0.weight > 0 }
            let table = try MaglevTable(backends: try active.map { try MaglevBackend(id: $0.address.identity, weight: $0.weight) },
                                        size: limits.ringSize)
            let expected = table.slots.map { position in
                active.first { $0.address.identity == table.backends[Int(position)].id }!.address
            }
            let ring = entry.liveSlots.map { addresses[$0] }
            XCTAssertEqual(ring.count, expected.count, "\(service.vip): ring size")
            XCTAssertTrue(ring == expected, "\(service.vip): the live ring is not the Maglev table of the state (seed \(seed))")
        }
    }
}
