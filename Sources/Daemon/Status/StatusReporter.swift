import Announce
import Balancer
import Foundation
import HealthCheck
import LBDAPI

/// Builds `StatusResponse` from the saved state, the reconciler's snapshot (indices,
/// active backends), the health checks and the datapath's counters and rings.
public struct StatusReporter: Sendable {
    let coordinator: EditCoordinator
    let reconciler: Reconciler
    let health: HealthSupervisor?
    let readings: any DatapathReadings
    let ringSize: Int
    let announcer: Announcer?
    /// Turned on for a sources window; nil: a datapath without one (tests' in-memory one).
    let sourceCounting: (any SourceCountingSwitch)?

    public init(coordinator: EditCoordinator, reconciler: Reconciler, health: HealthSupervisor? = nil,
                readings: any DatapathReadings, ringSize: Int, announcer: Announcer? = nil,
                sourceCounting: (any SourceCountingSwitch)? = nil) {
        self.coordinator = coordinator
        self.reconciler = reconciler
        self.health = health
        self.readings = readings
        self.ringSize = ringSize
        self.announcer = announcer
        self.sourceCounting = sourceCounting
    }

    /// With `vip`, of that service only (none when the state has no such VIP): the other
    /// services' rings and counters are not read.
    public func report(only vip: VIPKey? = nil) async throws -> StatusResponse {
        let (state, version) = await coordinator.versionedState
        let snapshot = await reconciler.snapshot()
        let vips = Dictionary(uniqueKeysWithValues: snapshot.vips.map { ($0.key, $0) })
        let backends = Dictionary(uniqueKeysWithValues: snapshot.backends.map { ($0.address, $0) })
        let checks = await health?.report().services ?? [:]
        let flows = try readings.activeFlows()
        let now = Date()
        var services: [StatusResponse.Service] = []
        let reported = vip.map { vip in state.services[vip].map { [$0] } ?? [] } ?? state.sortedServices
        for service in reported {
            let installed = vips[service.vip]
            let serving = installed.map { !$0.info.flags.contains(.noBackend) } ?? false
            // The live ring of a VIP without backends still holds its last table: count nothing.
            var slotsByIndex: [UInt32: Int] = [:]
            if let installed, serving {
                for index in try readings.ring(vipIndex: installed.index, ring: installed.info.liveRing) {
                    slotsByIndex[index, default: 0] += 1
                }
            }
            let up = serving ? installed?.backendsUp ?? 0 : 0
            let panic = serving && installed?.panic == true
            let minUp = service.healthCheck?.minUp ?? 1
            let traffic = try installed.map { try readings.vipTraffic(index: $0.index) } ?? Traffic(packets: 0, bytes: 0)
            let arrivals = try installed.map { try readings.vipFlows(index: $0.index) } ?? VIPFlows(syns: 0, newFlows: 0, misses: 0)
            let serviceChecks = checks[service.vip]?.backends ?? [:]
            services.append(StatusResponse.Service(
                vip: service.vip.description, hash: service.hash.rawValue,
                state: panic ? "panic" : !serving ? "no_backend" : up < minUp ? "degraded" : "ok", backendsUp: up,
                minUp: minUp, panicThreshold: service.panicThreshold,
                panic: panic,
                packets: traffic.packets, bytes: traffic.bytes,
                syns: arrivals.syns, newFlows: arrivals.newFlows, connMisses: arrivals.misses,
                backends: try service.backends.map { backend in
                    let installedBackend = backends[backend.address]
                    let index = installedBackend?.index
                    let slots = index.flatMap { slotsByIndex[$0] } ?? 0
                    let traffic = try index.map { try readings.backendTraffic(index: $0) } ?? Traffic(packets: 0, bytes: 0)
                    let check = serviceChecks[backend.address]?.health
                    let tally = flows.tally(vipIndex: installed?.index, backendIndex: index)
                    return StatusResponse.Backend(
                        address: backend.address.description, weight: backend.weight, drained: backend.drained,
                        health: check?.status.rawValue ?? "unchecked",
                        healthSince: check.map { $0.since.formatted(.iso8601) },
                        healthAgeSeconds: check.map { now.timeIntervalSince($0.since) },
                        lastCheck: check?.lastResult?.reason, latencyMS: check?.lastResult?.latencyMilliseconds,
                        ringSlots: slots, ringShare: Double(slots) / Double(ringSize),
                        packets: traffic.packets, bytes: traffic.bytes,
                        activeFlows: tally.active, closingFlows: tally.closing)
                }))
        }
        let attachment = readings.attachment()
        let table = try readings.connectionTable()
        let announce = await announcer?.report()
        return StatusResponse(services: services, datapath: .init(attached: attachment.mode, interface: attachment.interface,
                                                                 adopted: attachment.adopted),
                            connectionTable: .init(entries: table.entries, exact: table.exact, capacity: table.capacity,
                                                   utilization: table.utilization,
                                                   countedAt: table.countedAt.formatted(.iso8601)),
                            flowsCountedAt: flows.countedAt.formatted(StatusResponse.timestampStyle),
                            announce: announce.map(StatusResponse.Announce.init), version: version)
    }
}

extension StatusResponse.Announce {
    /// The routes in address order, each as its host prefix.
    init(_ report: AnnouncementReport) {
        self.init(node: report.node, birdError: report.birdError,
                  routes: report.routes.sorted { $0.key < $1.key }.map { address, route in
            Route(prefix: "\(address)/\(address.family == .v4 ? 32 : 128)", announced: route.announced,
                  servable: route.servable, reason: route.reason)
        })
    }
}
