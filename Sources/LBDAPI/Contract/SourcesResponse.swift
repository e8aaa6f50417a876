/// `GET /v1/sources`: the client prefixes opening the most new flows, per VIP, from the
/// datapath's bounded table (source_flows; counts are lower bounds, docs/metrics.md).
public struct SourcesResponse: Codable, Equatable, Sendable {
    public struct Source: Codable, Equatable, Sendable {
        public var vip: String
        public var prefix: String
        /// Since the prefix was first tracked, while counting was on: new flows (refused
        /// ones included), and of those the ones the per-source limit dropped.
        public var newFlows: UInt64
        public var refused: UInt64
        /// New flows during the report's `seconds`; nil when it is 0.
        public var intervalNewFlows: UInt64?
        /// Since the prefix's latest new flow.
        public var lastSeenAgeSeconds: Double

        enum CodingKeys: String, CodingKey {
            case vip, prefix, refused
            case newFlows = "new_flows", intervalNewFlows = "interval_new_flows", lastSeenAgeSeconds = "last_seen_age_s"
        }

        public init(vip: String, prefix: String, newFlows: UInt64, refused: UInt64, intervalNewFlows: UInt64?,
                    lastSeenAgeSeconds: Double) {
            self.vip = vip
            self.prefix = prefix
            self.newFlows = newFlows
            self.refused = refused
            self.intervalNewFlows = intervalNewFlows
            self.lastSeenAgeSeconds = lastSeenAgeSeconds
        }
    }

    public var seconds: Int
    /// Entries of source_flows read, and its bound (LB_SOURCE_ENTRIES).
    public var tracked: Int
    public var capacity: Int
    public var sources: [Source]

    public init(seconds: Int, tracked: Int, capacity: Int, sources: [Source]) {
        self.seconds = seconds
        self.tracked = tracked
        self.capacity = capacity
        self.sources = sources
    }
}
