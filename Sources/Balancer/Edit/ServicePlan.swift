import HealthCheck
/// What going from one desired state to another changes, service by service: what
/// `lbctl apply --dry-run` shows. Backend order is not a change (a ring depends on the
/// set of backends only).
public struct ServicePlan: Equatable, Sendable, CustomStringConvertible {
    /// A backend present in both states with another weight or drain state.
    public struct BackendChange: Equatable, Sendable {
        public let old: BackendSpec
        public let new: BackendSpec
    }

    /// A service present in both states that differs.
    public struct ServiceChange: Equatable, Sendable {
        public let old: ServiceSpec
        public let new: ServiceSpec
        /// In address order, as are the other lists.
        public let addedBackends: [BackendSpec]
        public let removedBackends: [BackendSpec]
        public let changedBackends: [BackendChange]

        public var vip: VIPKey { new.vip }
    }

    /// In VIP order.
    public let added: [ServiceSpec]
    public let removed: [ServiceSpec]
    public let changed: [ServiceChange]

    public init(from old: DesiredState, to new: DesiredState) {
        added = new.sortedServices.filter { old.services[$0.vip] == nil }
        removed = old.sortedServices.filter { new.services[$0.vip] == nil }
        changed = new.sortedServices.compactMap { service in
            old.services[service.vip].flatMap { Self.change(from: $0, to: service) }
        }
    }

    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }

    private static func change(from old: ServiceSpec, to new: ServiceSpec) -> ServiceChange? {
        let oldBackends = Dictionary(old.backends.map { ($0.address, $0) }, uniquingKeysWith: { first, _ in first })
        let newBackends = Dictionary(new.backends.map { ($0.address, $0) }, uniquingKeysWith: { first, _ in first })
        let byAddress = { (left: BackendSpec, right: BackendSpec) in left.address < right.address }
        let change = ServiceChange(
            old: old, new: new,
            addedBackends: new.backends.filter { oldBackends[$0.address] == nil }.sorted(by: byAddress),
            removedBackends: old.backends.filter { newBackends[$0.address] == nil }.sorted(by: byAddress),
            changedBackends: new.backends.compactMap { backend in
                oldBackends[backend.address].flatMap { $0 == backend ? nil : BackendChange(old: $0, new: backend) }
            }.sorted { byAddress($0.new, $1.new) })
        let unchanged = old.hash == new.hash && old.udpIdleTimeout == new.udpIdleTimeout
            && change.addedBackends.isEmpty && change.removedBackends.isEmpty && change.changedBackends.isEmpty
        return unchanged ? nil : change
    }

    /// One line per change, `+` added, `-` removed, `~` changed, backends indented under
    /// their VIP, then a count:
    ///
    ///     + 10.0.0.11:80/tcp hash 5tuple
    ///         + 192.0.2.21 weight 100
    ///     - 10.0.0.12:53/udp (2 backends)
    ///     ~ 10.0.0.10:80/tcp
    ///         hash 5tuple -> source
    ///         + 192.0.2.13 weight 100
    ///         - 192.0.2.12
    ///         ~ 192.0.2.11 weight 100 -> 50, drained
    ///     1 VIP added, 1 removed, 1 changed
    public var description: String {
        guard !isEmpty else { return "no changes" }
        var lines: [String] = []
        for service in added {
            let timeout = service.udpIdleTimeout.map { " udp_idle_timeout \(DurationText.format($0))" } ?? ""
            lines.append("+ \(service.vip) hash \(service.hash.rawValue)\(timeout)")
            lines += service.backends.sorted { $0.address < $1.address }.map { "    + " + Self.describe($0) }
        }
        for service in removed {
            let count = service.backends.count
            lines.append("- \(service.vip) (\(count) backend\(count == 1 ? "" : "s"))")
        }
        for change in changed {
            lines.append("~ \(change.vip)")
            if change.old.hash != change.new.hash {
                lines.append("    hash \(change.old.hash.rawValue) -> \(change.new.hash.rawValue)")
            }
            if change.old.udpIdleTimeout != change.new.udpIdleTimeout {
                let text = { (timeout: Duration?) in timeout.map(DurationText.format) ?? "default" }
                lines.append("    udp_idle_timeout \(text(change.old.udpIdleTimeout)) -> \(text(change.new.udpIdleTimeout))")
            }
            lines += change.addedBackends.map { "    + " + Self.describe($0) }
            lines += change.removedBackends.map { "    - \($0.address)" }
            lines += change.changedBackends.map { "    ~ " + Self.describe($0) }
        }
        lines.append("\(added.count) VIP\(added.count == 1 ? "" : "s") added, \(removed.count) removed, "
            + "\(changed.count) changed")
        return lines.joined(separator: "\n")
    }

    private static func describe(_ backend: BackendSpec) -> String {
        "\(backend.address) weight \(backend.weight)" + (backend.drained ? ", drained" : "")
    }

    private static func describe(_ change: BackendChange) -> String {
        var parts: [String] = []
        if change.old.weight != change.new.weight { parts.append("weight \(change.old.weight) -> \(change.new.weight)") }
        if change.old.drained != change.new.drained { parts.append(change.new.drained ? "drained" : "undrained") }
        return "\(change.new.address) " + parts.joined(separator: ", ")
    }
}

extension DesiredState {
    /// The changes from `self` to `other`.
    public func plan(to other: DesiredState) -> ServicePlan {
        ServicePlan(from: self, to: other)
    }
}
