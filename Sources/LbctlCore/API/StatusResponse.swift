/// lbd's answer to `GET /v1/status`, the fields the human view shows (`--json` has all).
struct StatusResponse: Decodable, Equatable, Sendable {
    struct Service: Decodable, Equatable, Sendable {
        let vip: String
        let hash: String
        /// `ok`, `degraded` (fewer than `min_up` backends take new flows), `panic` (fewer than
        /// `panic_threshold` percent pass their checks: new flows go to every backend) or `no_backend`.
        let state: String
        let backendsUp: Int
        let minUp: Int
        let packets: UInt64
        let bytes: UInt64
        let backends: [Backend]

        private enum CodingKeys: String, CodingKey {
            case vip, hash, state, packets, bytes, backends
            case backendsUp = "backends_up", minUp = "min_up"
        }
    }

    struct Backend: Decodable, Equatable, Sendable {
        let address: String
        let weight: Int
        let drained: Bool
        /// `up`, `down`, or `unchecked` (no health check: lbd treats it as up).
        let health: String
        /// Seconds since the check's state last changed.
        let healthAgeSeconds: Double?
        /// The last probe's result in lbd's words, e.g. why it failed, and its latency.
        let lastCheck: String?
        let latencyMS: Double?
        /// The fraction (0...1) of the VIP's ring slots that point to this backend.
        let ringShare: Double
        let packets: UInt64
        let bytes: UInt64
        /// The VIP's flows on the backend that have not ended; nil from an lbd that does not count them.
        let activeFlows: Int?

        private enum CodingKeys: String, CodingKey {
            case address, weight, drained, health, packets, bytes
            case activeFlows = "active_flows"
            case healthAgeSeconds = "health_age_s", lastCheck = "last_check", latencyMS = "latency_ms"
            case ringShare = "ring_share"
        }
    }

    struct Datapath: Decodable, Equatable, Sendable {
        /// `native` or `generic` XDP; nil when not attached.
        let attached: String?
        let interface: String
        /// Whether lbd took over pinned program and maps at start instead of loading them.
        let adopted: Bool
    }

    /// This node's BGP announcements; nil when lbd announces nothing (no `announce:`).
    struct Announce: Decodable, Equatable, Sendable {
        struct Route: Decodable, Equatable, Sendable {
            let prefix: String
            let announced: Bool
            let servable: Bool
            let reason: String
        }

        /// `active`, `draining` or `drained`.
        let node: String
        let birdError: String?
        let routes: [Route]

        private enum CodingKeys: String, CodingKey {
            case node, routes
            case birdError = "bird_error"
        }
    }

    /// Entries in use of the connection table (lbd counts at most every 10 s); nil from
    /// a daemon that does not report it.
    struct ConnectionTable: Decodable, Equatable, Sendable {
        let entries: Int
        /// False: estimated from a sample of a large table.
        let exact: Bool
        let capacity: Int
        let utilization: Double
    }

    let services: [Service]
    let datapath: Datapath
    let connectionTable: ConnectionTable?
    /// When the backends' active flows were counted (ISO 8601 with fractional seconds);
    /// nil from an lbd that does not count them.
    let flowsCountedAt: String?
    let announce: Announce?

    private enum CodingKeys: String, CodingKey {
        case services, datapath, announce
        case connectionTable = "connection_table", flowsCountedAt = "flows_counted_at"
    }
}
