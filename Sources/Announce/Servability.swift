import Balancer

/// What can serve, as `AnnouncementPolicy.update` takes it.
public enum Servability {
    /// Every VIP address of `state`: true when at least one of its services has `min_up`
    /// backends in its live ring that pass their checks (weight > 0, not drained; a ring in
    /// panic holds failed backends too, which do not count) — what the reconciler
    /// installed, so a VIP is announced only once the datapath serves it.
    public static func byAddress(_ state: DesiredState, _ snapshot: ReconcilerSnapshot) -> [IPAddress: Bool] {
        let installed = Dictionary(snapshot.vips.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        var servable: [IPAddress: Bool] = [:]
        for service in state.services.values {
            let vip = installed[service.vip]
            let serving = vip.map { !$0.info.flags.contains(.noBackend) } ?? false
            let up = serving ? vip?.backendsUp ?? 0 : 0
            let canServe = up >= (service.healthCheck?.minUp ?? 1)
            servable[service.vip.address] = (servable[service.vip.address] ?? false) || canServe
        }
        return servable
    }
}
