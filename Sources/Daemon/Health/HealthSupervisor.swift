import Balancer
import HealthCheck
import Logging
import ServiceLifecycle

/// Keeps the health monitor's checks equal to the desired state's and hands their
/// verdicts to the reconciler.
///
/// Every backend of a service with a check (its own, else the service's) is a target,
/// subscribed under the service's VIP; equal targets of several services share one
/// checker. A new subscription starts from the reconciler's view of that backend — its
/// `start_state`, or what a restart adopted from the maps — so a restart does not take
/// healthy backends out of their rings while the checks warm up. Each state change the
/// monitor reports becomes one `Reconciler.setHealth` for the backends of that target.
///
/// The monitor drops the oldest events when this consumer falls a whole buffer behind;
/// each time it has, the supervisor resynchronises every backend from the checks'
/// current states, so a lost transition never leaves a backend in or out of its ring.
///
/// A check `via: tunnel` (the default) probes the service's VIP through the tunnel to
/// the backend (`TunnelRoutes`); without routes (a supervisor with no datapath) such
/// checks are not run, and say so in the log.
///
/// `run()` runs the monitor and consumes its events until graceful shutdown.
public actor HealthSupervisor: Service {
    private let monitor: HealthMonitor
    private let reconciler: Reconciler
    private let tunnels: TunnelRoutes?
    private let logger: Logger
    private var subscriptions: [BackendRef: HealthTarget] = [:]
    private var refsByTarget: [HealthTarget: Set<BackendRef>] = [:]
    private var minUp: [VIPKey: Int] = [:]
    /// The services of the last sync: the next one looks at those that changed only.
    private var synced = DesiredState()
    /// The monitor's `droppedEvents` at the last resynchronisation.
    private var droppedSeen = 0

    public init(monitor: HealthMonitor, reconciler: Reconciler, tunnels: TunnelRoutes? = nil,
                logger: Logger = Logger(label: "lbd.health")) {
        self.monitor = monitor
        self.reconciler = reconciler
        self.tunnels = tunnels
        self.logger = logger
    }

    /// Subscribes the checks `state` asks for and unsubscribes the others; backends whose
    /// shared checker already knows better than the reconciler are corrected at once.
    public func sync(_ state: DesiredState) async {
        let changed = Set(state.services.keys.filter { synced.services[$0] != state.services[$0] })
            .union(synced.services.keys.filter { state.services[$0] == nil })
        synced = state
        guard !changed.isEmpty else { return }
        let wanted = targets(of: changed.compactMap { state.services[$0] })
        minUp = state.services.compactMapValues { $0.healthCheck?.minUp }
        for (ref, target) in subscriptions where changed.contains(ref.vip) && wanted[ref] != target {
            await monitor.unsubscribe(target, subscriber: ref.vip.description)
            subscriptions[ref] = nil
            refsByTarget[target]?.remove(ref)
            if refsByTarget[target]?.isEmpty == true { refsByTarget[target] = nil }
        }
        let unhealthy = await reconciler.unhealthyBackends()
        var corrections: [BackendRef: Bool] = [:]
        for (ref, target) in wanted where subscriptions[ref] != target {
            subscriptions[ref] = target
            refsByTarget[target, default: []].insert(ref)
            let believed: HealthStatus = unhealthy.contains(ref) ? .down : .up
            let known = await monitor.subscribe(target, subscriber: ref.vip.description, initial: believed).status
            if known != believed { corrections[ref] = known == .up }
        }
        await setHealth(corrections, reason: "shared checker's state")
    }

    /// The checks as `lbctl status` shows them: per service, per backend.
    public func report() async -> HealthReport {
        let statuses = Dictionary(await monitor.statuses().map { ($0.target, $0) }, uniquingKeysWith: { first, _ in first })
        var services: [VIPKey: HealthReport.Service] = [:]
        for (ref, target) in subscriptions {
            guard let status = statuses[target] else { continue }
            services[ref.vip, default: .init(minUp: minUp[ref.vip] ?? 1)].backends[ref.address] = status
        }
        return HealthReport(services: services)
    }

    /// State changes since start, by direction and reason.
    public func transitionCounts() async -> [TransitionCounterKey: Int] {
        await monitor.transitionCounts
    }

    public nonisolated func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.monitor.run() }
            await cancelWhenGracefulShutdown {
                for await event in self.monitor.events {
                    await self.apply(event)
                }
            }
            // Stops every check and closes its socket.
            group.cancelAll()
        }
    }

    private func apply(_ event: HealthEvent) async {
        let refs = refsByTarget[event.target] ?? []
        let up = event.transition.to == .up
        await setHealth(Dictionary(uniqueKeysWithValues: refs.map { ($0, up) }), reason: "\(event.transition.reason)")
        let dropped = await monitor.droppedEvents
        if dropped > droppedSeen {
            droppedSeen = dropped
            await resynchronise(dropped: dropped)
        }
    }

    /// Sets every subscribed backend's health to its checker's current state. Events
    /// still buffered after this are older than that state, but each target's last one
    /// is its latest transition, so applying them ends where the checks are.
    private func resynchronise(dropped: Int) async {
        let current = Dictionary(await monitor.statuses().map { ($0.target, $0.status) }, uniquingKeysWith: { first, _ in first })
        let unhealthy = await reconciler.unhealthyBackends()
        var corrections: [BackendRef: Bool] = [:]
        for (ref, target) in subscriptions {
            guard let status = current[target] else { continue }
            if unhealthy.contains(ref) == (status == .up) { corrections[ref] = status == .up }
        }
        logger.warning("health events were dropped (the reconciler fell behind); resynchronised from the checks' states",
                       metadata: ["dropped_total": "\(dropped)", "corrected": "\(corrections.count)"])
        await setHealth(corrections, reason: "resynchronised after dropped events")
    }

    /// A failed write is left to the reconcile retry (`Reconciler.needsRetry`).
    private func setHealth(_ changes: [BackendRef: Bool], reason: String) async {
        guard !changes.isEmpty else { return }
        do {
            try await reconciler.setHealth(changes)
        } catch {
            logger.error("health change not yet in the datapath (retrying)", metadata: [
                "backends": "\(changes.keys.map(\.description).sorted().joined(separator: ", "))",
                "reason": "\(reason)", "error": "\(error)",
            ])
        }
    }

    /// One target per checked backend of `services`.
    private func targets(of services: [ServiceSpec]) -> [BackendRef: HealthTarget] {
        var targets: [BackendRef: HealthTarget] = [:]
        let indices = tunnels?.indices() ?? [:]
        for service in services {
            for backend in service.backends {
                guard let check = service.check(for: backend) else { continue }
                var tunnel: ProbeTunnel?
                if check.via == .tunnel && check.type != .none {
                    tunnel = tunnels?.tunnel(vip: service.vip, backendIndex: indices[backend.address])
                    guard tunnel != nil else {
                        logger.error("backend not checked: no tunnel to it", metadata: [
                            "vip": "\(service.vip)", "backend": "\(backend.address)",
                            "reason": "\(tunnels == nil ? "no datapath" : "no backend index")",
                        ])
                        continue
                    }
                }
                do {
                    targets[BackendRef(vip: service.vip, address: backend.address)] = try HealthTarget(
                        address: backend.address.description, servicePort: service.vip.port, definition: check,
                        tunnel: tunnel)
                } catch {
                    // Validation refuses these; a state file edited by hand is the only way here.
                    logger.error("backend not checked", metadata: [
                        "vip": "\(service.vip)", "backend": "\(backend.address)", "error": "\(error)",
                    ])
                }
            }
        }
        return targets
    }
}

/// Every checked backend's state, by service.
public struct HealthReport: Sendable {
    public struct Service: Sendable {
        public var minUp: Int
        public var backends: [IPAddress: TargetStatus] = [:]

        /// The quorum verdict.
        public var health: ServiceHealth {
            ServiceHealth(statuses: backends.values.map(\.status), minUp: minUp)
        }
    }

    public var services: [VIPKey: Service]
}
