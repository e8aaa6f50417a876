import Foundation

/// `GET /v1/status`: every VIP with its backends, what the datapath does with them and
/// their counters, then where the program runs.
public struct StatusResponse: Codable, Equatable, Sendable {
    public struct Service: Codable, Equatable, Sendable {
        public var vip: String
        /// `5tuple` or `source`.
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

        public init(vip: String, hash: String, state: String, backendsUp: Int, minUp: Int, panicThreshold: Int,
                    panic: Bool, packets: UInt64, bytes: UInt64, syns: UInt64, newFlows: UInt64, connMisses: UInt64,
                    backends: [Backend]) {
            self.vip = vip
            self.hash = hash
            self.state = state
            self.backendsUp = backendsUp
            self.minUp = minUp
            self.panicThreshold = panicThreshold
            self.panic = panic
            self.packets = packets
            self.bytes = bytes
            self.syns = syns
            self.newFlows = newFlows
            self.connMisses = connMisses
            self.backends = backends
        }
    }

    public struct Backend: Codable, Equatable, Sendable {
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
        /// This VIP's flows on this backend in the connection table: active ones, and closing
        /// ones (the client sent a FIN or an RST; lingering). Nil from an lbd that does not
        /// count them.
        public var activeFlows: Int?
        public var closingFlows: Int?

        enum CodingKeys: String, CodingKey {
            case address, weight, drained, health, packets, bytes
            case activeFlows = "active_flows", closingFlows = "closing_flows"
            case healthSince = "health_since", healthAgeSeconds = "health_age_s", lastCheck = "last_check"
            case latencyMS = "latency_ms"
            case ringSlots = "ring_slots", ringShare = "ring_share"
        }

        public init(address: String, weight: Int, drained: Bool, health: String, healthSince: String? = nil,
                    healthAgeSeconds: Double? = nil, lastCheck: String? = nil, latencyMS: Double? = nil,
                    ringSlots: Int, ringShare: Double, packets: UInt64, bytes: UInt64,
                    activeFlows: Int? = nil, closingFlows: Int? = nil) {
            self.address = address
            self.weight = weight
            self.drained = drained
            self.health = health
            self.healthSince = healthSince
            self.healthAgeSeconds = healthAgeSeconds
            self.lastCheck = lastCheck
            self.latencyMS = latencyMS
            self.ringSlots = ringSlots
            self.ringShare = ringShare
            self.packets = packets
            self.bytes = bytes
            self.activeFlows = activeFlows
            self.closingFlows = closingFlows
        }
    }

    public struct Datapath: Codable, Equatable, Sendable {
        /// `native` or `generic` XDP; null when not attached.
        public var attached: String?
        public var interface: String
        /// Whether lbd took over a pinned program and maps at start instead of loading them.
        public var adopted: Bool

        public init(attached: String?, interface: String, adopted: Bool) {
            self.attached = attached
            self.interface = interface
            self.adopted = adopted
        }

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
    public struct Announce: Codable, Equatable, Sendable {
        public struct Route: Codable, Equatable, Sendable {
            /// `10.0.0.10/32`, `2001:db8::10/128`.
            public var prefix: String
            public var announced: Bool
            /// Whether one of the address's services can serve (min_up backends up).
            public var servable: Bool
            public var reason: String

            public init(prefix: String, announced: Bool, servable: Bool, reason: String) {
                self.prefix = prefix
                self.announced = announced
                self.servable = servable
                self.reason = reason
            }
        }

        /// `active`, `draining` or `drained` (`lbctl node drain`).
        public var node: String
        /// Why BIRD does not have the routes lbd decided (unreachable, refused); null when it does.
        public var birdError: String?
        /// In address order.
        public var routes: [Route]

        public init(node: String, birdError: String?, routes: [Route]) {
            self.node = node
            self.birdError = birdError
            self.routes = routes
        }

        /// `bird_error` is written as null when BIRD has the routes, never left out.
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
    public struct ConnectionTable: Codable, Equatable, Sendable {
        public var entries: Int
        public var exact: Bool
        public var capacity: Int
        public var utilization: Double
        /// When it was counted (ISO 8601).
        public var countedAt: String

        enum CodingKeys: String, CodingKey {
            case entries, exact, capacity, utilization
            case countedAt = "counted_at"
        }

        public init(entries: Int, exact: Bool, capacity: Int, utilization: Double, countedAt: String) {
            self.entries = entries
            self.exact = exact
            self.capacity = capacity
            self.utilization = utilization
            self.countedAt = countedAt
        }
    }

    public var services: [Service]
    public var datapath: Datapath
    /// Always reported by this lbd; nil from an lbd older than the connection-table count.
    public var connectionTable: ConnectionTable?
    /// When the backends' active flows were counted (ISO 8601 with milliseconds): a count is
    /// reused for a short while, so `lbctl backend drain --wait` trusts only one taken after
    /// its drain. Nil from an lbd that does not count them.
    public var flowsCountedAt: String?
    public var announce: Announce?
    /// The services' version, as `/v1/services` shows it (nil from an older lbd).
    public var version: String?

    enum CodingKeys: String, CodingKey {
        case services, datapath, announce, version
        case connectionTable = "connection_table", flowsCountedAt = "flows_counted_at"
    }

    public init(services: [Service], datapath: Datapath, connectionTable: ConnectionTable?,
                flowsCountedAt: String? = nil, announce: Announce?, version: String? = nil) {
        self.services = services
        self.datapath = datapath
        self.connectionTable = connectionTable
        self.flowsCountedAt = flowsCountedAt
        self.announce = announce
        self.version = version
    }
}

extension StatusResponse {
    /// How `flows_counted_at` is written: ISO 8601 with milliseconds, as a drain's wait
    /// compares it with the drain's own time.
    public static let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// `flowsCountedAt` as a date; nil when lbd does not report it or it is not in `timestampStyle`.
    public var flowsCountedDate: Date? {
        flowsCountedAt.flatMap { try? Date($0, strategy: Self.timestampStyle) }
    }
}
