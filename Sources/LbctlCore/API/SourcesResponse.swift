/// lbd's answer to `GET /v1/sources` (`SourcesReport` on lbd's side).
struct SourcesResponse: Decodable, Equatable, Sendable {
    struct Source: Decodable, Equatable, Sendable {
        let vip: String
        let prefix: String
        let newFlows: UInt64
        let refused: UInt64
        let intervalNewFlows: UInt64?
        let lastSeenAgeSeconds: Double

        private enum CodingKeys: String, CodingKey {
            case vip, prefix, refused
            case newFlows = "new_flows", intervalNewFlows = "interval_new_flows", lastSeenAgeSeconds = "last_seen_age_s"
        }
    }

    let seconds: Int
    let tracked: Int
    let capacity: Int
    let sources: [Source]
}
