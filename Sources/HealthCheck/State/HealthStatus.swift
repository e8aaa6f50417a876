public enum HealthStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case up
    case down
}
