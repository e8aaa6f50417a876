import Announce
import Balancer
import Foundation
import HealthCheck

/// `GET /v1/status`: every VIP with its backends, what the datapath does with them and
/// their counters, then where the program runs. JSON keys are the API contract.
public struct StatusReport: Encodable, Equatable, Sendable {
    public struct Service: Encodable, Equatable, Sendable {
        public var vip: String
        public var hash: String
        /// `ok`: at least `min_up` backends take new flows; `degraded`: some but fewer
        /// (new flows keep going to those); `panic`: fewer than `panic_threshold` percent
        /// pass their checks, so new flows go to every backend, up or down;
        /// `no_backend`: none takes new flows, they are dropped.
        public var state: String
        /// Backends taking new flows and passing their checks (weight > 0, not drained,
        /// healthy), and the quorum.
        public var backendsUp: Int
        public var minUp: Int
        public var panicThreshold: Int
        public var panic: Bool
        public var packets: UInt64
        public var bytes: UInt64
        /// TCP SYNs, connection entries created, packets without a live entry (counters).
        public var syns: UInt64
        public var newFlows: UInt64
        public var connMisses: UInt64
        public var backends: [Backend]

        enum CodingKeys: String, CodingKey {
            case vip, hash, state, packets, bytes, syns, backends
            case newFlows = "new_flows", connMisses = "conn_misses"
            case backendsUp = "backends_up", minUp = "min_up", panicThreshold = "panic_threshold", panic
        }
    }

    public struct Backend: Encodable, Equatable, Sendable {
        public var address: String
        public var weight: Int
        public var drained: Bool
        /// `up`, `down`, or `unchecked` (no health check: treated as up).
        public var health: String
        /// When the check's state last changed (ISO 8601), and how long ago in seconds.
        public var healthSince: String?
        public var healthAgeSeconds: Double?
        /// The last check's result in words ("status 200", "connection refused").
        public var lastCheck: String?
        public var latencyMS: Double?
        /// Slots of the VIP's live ring that name this backend; `ringShare` = slots / ring size.
        public var ringSlots: Int
        public var ringShare: Double
        /// Sent to this backend over every VIP it serves (the datapath counts per backend).
        public var packets: UInt64
        public var bytes: UInt64

        enum CodingKeys: String, CodingKey {
            case address, weight, drained, health, packets, bytes
            case healthSince = "health_since", healthAgeSeconds = "health_age_s", lastCheck = "last_check"
            case latencyMS = "latency_ms"
            case ringSlots = "ring_slots", ringShare = "ring_share"
        }
    }

    public struct Datapath: Encodable, Equatable, Sendable {
        public var attached: String?
        public var interface: String
        public var adopted: Bool

        /// `attached` is written as null when not attached, never left out.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(attached, forKey: .attached)
            try container.encode(interface, forKey: .interface)
            try container.encode(adopted, forKey: .adopted)
        }

        enum CodingKeys: String, CodingKey {
            case attached, interface, adopted
        }
    }

    /// This node's BGP announcements (`announce:`); absent when it announces nothing.
    public struct Announce: Encodable, Equatable, Sendable {
        public struct Route: Encodable, Equatable, Sendable {
            /// `10.0.0.10/32`, `2001:db8::10/128`.
            public var prefix: String
            public var announced: Bool
            /// Whether one of the address's services can serve (min_up backends up).
            public var servable: Bool
            public var reason: String
        }

        /// `active`, `draining` or `drained` (`lbctl node drain`).
        public var node: String
        /// Why BIRD does not have the routes lbd decided (unreachable, refused); null when it does.
        public var birdError: String?
        /// In address order.
        public var routes: [Route]

        init(_ report: AnnouncementReport) {
            node = report.node
            birdError = report.birdError
            routes = report.routes.sorted { $0.key < $1.key }.map { address, route in
                Route(prefix: "\(address)/\(address.family == .v4 ? 32 : 128)", announced: route.announced,
                      servable: route.servable, reason: route.reason)
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(node, forKey: .node)
            try container.encode(birdError, forKey: .birdError)
            try container.encode(routes, forKey: .routes)
        }

        enum CodingKeys: String, CodingKey {
            case node, routes
            case birdError = "bird_error"
        }
    }

    /// Entries in use of the connection table's capacity, counted at most every 10 s;
    /// `exact` false: estimated from a sample of a large table (about 0.2%).
    public struct ConnectionTable: Encodable, Equatable, Sendable {
        public var entries: Int
        public var exact: Bool
        public var capacity: Int
        public var utilization: Double
        public var countedAt: String

        enum CodingKeys: String, CodingKey {
            case entries, exact, capacity, utilization
            case countedAt = "counted_at"
        }
    }

    public var services: [Service]
    public var datapath: Datapath
    public var connectionTable: ConnectionTable
    public var announce: Announce?
    /// The services' version (`DesiredState.version`), as `/v1/services` shows it.
    public var version = ""

    enum CodingKeys: String, CodingKey {
        case services, datapath, announce, version
        case connectionTable = "connection_table"
    }
}

/// Builds `StatusReport` from the saved state, the reconciler's snapshot (indices,
/// active backends), the health checks and the datapath's counters and rings.
public struct StatusReporter: Sendable {
    let coordinator: EditCoordinator
    let reconciler: Reconciler
    let health: HealthSupervisor?
    let readings: any DatapathReadings
    let ringSize: Int
    let announcer: Announcer?

    public init(coordinator: EditCoordinator, reconciler: Reconciler, health: HealthSupervisor? = nil,
                readings: any DatapathReadings, ringSize: Int, announcer: Announcer? = nil) {
        self.coordinator = coordinator
        self.reconciler = reconciler
        self.health = health
        self.readings = readings
        self.ringSize = ringSize
        self.announcer = announcer
    }

    public func report() async throws -> StatusReport {
        let (state, version) = await coordinator.versionedState
        let snapshot = await reconciler.snapshot()
        let vips = Dictionary(uniqueKeysWithValues: snapshot.vips.map { ($0.key, $0) })
        let backends = Dictionary(uniqueKeysWithValues: snapshot.backends.map { ($0.address, $0) })
        let checks = await health?.report().services ?? [:]
        let now = Date()
        var services: [StatusReport.Service] = []
        for service in state.sortedServices {
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
            let flows = try installed.map { try readings.vipFlows(index: $0.index) } ?? VIPFlows(syns: 0, newFlows: 0, misses: 0)
            let serviceChecks = checks[service.vip]?.backends ?? [:]
            services.append(StatusReport.Service(
                vip: service.vip.description, hash: service.hash.rawValue,
                state: panic ? "panic" : !serving ? "no_backend" : up < minUp ? "degraded" : "ok", backendsUp: up,
                minUp: minUp, panicThreshold: service.panicThreshold,
                panic: panic,
                packets: traffic.packets, bytes: traffic.bytes,
                syns: flows.syns, newFlows: flows.newFlows, connMisses: flows.misses,
                backends: try service.backends.map { backend in
                    let installedBackend = backends[backend.address]
                    let index = installedBackend?.index
                    let slots = index.flatMap { slotsByIndex[$0] } ?? 0
                    let traffic = try index.map { try readings.backendTraffic(index: $0) } ?? Traffic(packets: 0, bytes: 0)
                    let check = serviceChecks[backend.address]?.health
                    return StatusReport.Backend(
                        address: backend.address.description, weight: backend.weight, drained: backend.drained,
                        health: check?.status.rawValue ?? "unchecked",
                        healthSince: check.map { $0.since.formatted(.iso8601) },
                        healthAgeSeconds: check.map { now.timeIntervalSince($0.since) },
                        lastCheck: check?.lastResult?.reason, latencyMS: check?.lastResult?.latencyMilliseconds,
                        ringSlots: slots, ringShare: Double(slots) / Double(ringSize),
                        packets: traffic.packets, bytes: traffic.bytes)
                }))
        }
        let attachment = readings.attachment()
        let table = try readings.connectionTable()
        let announce = await announcer?.report()
        var report = StatusReport(services: services, datapath: .init(attached: attachment.mode, interface: attachment.interface,
                                                                 adopted: attachment.adopted),
                            connectionTable: .init(entries: table.entries, exact: table.exact, capacity: table.capacity,
                                                   utilization: table.utilization,
                                                   countedAt: table.countedAt.formatted(.iso8601)),
                            announce: announce.map(StatusReport.Announce.init))
        report.version = version
        return report
    }
}
