import Balancer
import Logging

/// The one path by which the desired state changes: edits and applies are taken one at
/// a time, in arrival order, each validated as a whole, saved atomically, then handed to
/// the reconciler, and only then answered. An acknowledged edit is on disk (it survives
/// kill -9 and reboot) and in the maps; a refused one changed nothing.
///
/// The reconciler is another actor: awaiting it would let a second edit start in the
/// middle of the first, and their reconciles could reach the maps out of order. Edits
/// therefore pass a FIFO gate, held from validation to the reconciler's answer.
public actor EditCoordinator {
    private let store: StateStore
    private let reconciler: Reconciler
    private let logger: Logger
    /// Told of every new desired state once the reconciler has it (the health checks
    /// follow the services).
    private let stateChanged: @Sendable (DesiredState) async -> Void
    /// `lbd_api_edits_total` and `lbd_state_writes_total` by result.
    private let metrics: ControlPlaneMetrics?
    /// The host's own addresses, read at each edit that adds VIPs (`HostAddresses`).
    private let hostAddresses: @Sendable () -> Set<IPAddress>
    /// Under the current encapsulation sources (a reload may add or remove a family).
    public private(set) var limits: Limits
    /// What was last saved: the truth, even when the reconciler has yet to catch up.
    public private(set) var state: DesiredState
    /// `state`'s version (`DesiredState.version`), shown by the API; an apply can ask
    /// for it to be unchanged since its plan.
    public private(set) var version: String
    /// `state` and its version, read together.
    public var versionedState: (state: DesiredState, version: String) { (state, version) }
    /// A reconcile failed after its state was saved; `retryReconcile` finishes the work.
    public private(set) var reconcilePending = false

    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// `state` must be what `store` holds and what `reconciler` was last given.
    public init(state: DesiredState, limits: Limits, store: StateStore, reconciler: Reconciler,
                logger: Logger = Logger(label: "lbd.edit"), metrics: ControlPlaneMetrics? = nil,
                hostAddresses: @escaping @Sendable () -> Set<IPAddress> = { [] },
                stateChanged: @escaping @Sendable (DesiredState) async -> Void = { _ in }) {
        self.metrics = metrics
        self.hostAddresses = hostAddresses
        self.state = state
        version = store.version(of: state)
        self.limits = limits
        self.store = store
        self.reconciler = reconciler
        self.logger = logger
        self.stateChanged = stateChanged
    }

    /// Applies `edit`: refused with `.refused` (nothing changed) when it does not apply
    /// or the result does not validate; `.notSaved` if the state file cannot be written
    /// (nothing changed either); `.notApplied` if the datapath refused a write after the
    /// state was saved (retried in the background).
    /// A VIP new to the state on one of the host's own addresses is refused
    /// (`.onHostAddress`) unless `force`. Whether the edit changed the state (not when it
    /// already was so: a retry), and the state's version after it.
    @discardableResult
    public func edit(_ edit: Edit, force: Bool = false) async throws(EditFailure) -> (changed: Bool, version: String) {
        try await counted { () async throws(EditFailure) -> (changed: Bool, version: String) in
            try await exclusively { () throws(EditFailure) in
                let new: DesiredState
                do throws(EditError) {
                    new = try state.applying(edit, limits: limits)
                } catch {
                    throw .refused(error)
                }
                if !force { try refuseHostAddresses(in: new) }
                return (try await commit(new, reason: "edit", detail: edit.summary), version)
            }
        }
    }

    /// What an apply did or, dry, would do.
    public struct ApplyOutcome: Sendable {
        public let plan: ServicePlan
        /// VIPs not in the file, left as they are (apply without `prune`), in VIP order.
        public let kept: [VIPKey]
        /// The state's version after the apply (before it, for a dry run).
        public let version: String
    }

    /// The plan from the current services to `services`; with `dryRun` false, also applies
    /// it (saved, then reconciled). `services` must be valid under `limits` (the API reads
    /// it with `DesiredState(yaml:limits:)` under this coordinator's limits). With `prune`
    /// the services become exactly `services`; without, services not in it are kept.
    /// With `expectedVersion`, refused (`.stateChanged`) unless the state still has it.
    public func apply(_ services: DesiredState, dryRun: Bool, force: Bool = false, prune: Bool = true,
                      expectedVersion: String? = nil) async throws(EditFailure) -> ApplyOutcome {
        let apply = { () async throws(EditFailure) -> ApplyOutcome in
            try await self.exclusively { () throws(EditFailure) in
                if let expectedVersion, expectedVersion != self.version {
                    throw .stateChanged(expected: expectedVersion, current: self.version)
                }
                let kept = prune ? [] : self.state.sortedServices.filter { services.services[$0.vip] == nil }
                let target = kept.isEmpty ? services : try self.merging(kept, into: services)
                if !force { try self.refuseHostAddresses(in: target) }
                let plan = self.state.plan(to: target)
                if !dryRun, !plan.isEmpty {
                    try await self.commit(target, reason: "apply", detail: plan.description)
                }
                return ApplyOutcome(plan: plan, kept: kept.map(\.vip), version: self.version)
            }
        }
        return dryRun ? try await apply() : try await counted(apply)
    }

    /// `services` with `kept` added, validated as a whole (the kept ones count against the limits).
    private func merging(_ kept: [ServiceSpec], into services: DesiredState) throws(EditFailure) -> DesiredState {
        do {
            return try state.applying(.replaceServices(services.sortedServices + kept), limits: limits)
        } catch {
            throw .refused(error)
        }
    }

    /// Runs a change, counting its result.
    private func counted<T>(_ change: () async throws(EditFailure) -> T) async throws(EditFailure) -> T {
        do {
            let result = try await change()
            metrics?.edits.ok.increment()
            return result
        } catch {
            switch error {
            case .refused, .onHostAddress, .stateChanged: metrics?.edits.refused?.increment()
            case .notSaved, .notApplied: metrics?.edits.failed.increment()
            }
            throw error
        }
    }

    /// New limits (a reload changed the encapsulation sources): refused, changing nothing,
    /// when the current state does not validate under them.
    public func setLimits(_ new: Limits) throws(EditError) {
        guard new != limits else { return }
        _ = try state.applying(.replaceServices(state.sortedServices), limits: new)
        limits = new
    }

    /// Runs the reconcile left unfinished by a failed write (of an edit, or of a health
    /// change); true when nothing is pending.
    @discardableResult
    public func retryReconcile() async -> Bool {
        await exclusively {
            let retryNeeded = await reconciler.needsRetry
            guard reconcilePending || retryNeeded else { return true }
            do {
                try await reconciler.reconcile()
                reconcilePending = false
                logger.notice("reconcile retry succeeded: the maps hold the saved state")
            } catch {
                logger.error("reconcile retry failed", metadata: ["error": "\(error)"])
            }
            return !reconcilePending
        }
    }

    /// Returns once every edit that arrived before it has been answered: a liveness probe
    /// for the watchdog, which should stop when edits stop being served.
    public func ping() async {
        await exclusively {}
    }

    // MARK: Steps

    /// VIPs of `new` not in the current state whose address is one of the host's own
    /// (`HostAddresses.clashing`; the API's clients are among that traffic).
    private func refuseHostAddresses(in new: DesiredState) throws(EditFailure) {
        let added = new.services.keys.filter { state.services[$0] == nil }
        guard !added.isEmpty else { return }
        let clashing = HostAddresses.clashing(added, own: hostAddresses())
        if !clashing.isEmpty { throw .onHostAddress(clashing) }
    }

    /// Saves `new`, then reconciles; nothing when it is the current state (a retried
    /// request): false then.
    @discardableResult
    private func commit(_ new: DesiredState, reason: String, detail: String) async throws(EditFailure) -> Bool {
        guard new != state else { return false }
        let newVersion: String
        do {
            newVersion = try store.save(new)
            metrics?.stateWrites.ok.increment()
        } catch {
            metrics?.stateWrites.failed.increment()
            logger.error("state not saved; \(reason) refused", metadata: ["error": "\(error)"])
            throw .notSaved(error)
        }
        state = new
        version = newVersion
        logger.info("\(reason) saved", metadata: ["change": "\(detail)", "vips": "\(new.services.count)"])
        var failure: ReconcileError?
        do {
            try await reconciler.apply(new)
            reconcilePending = false
        } catch {
            reconcilePending = true
            failure = error
        }
        await stateChanged(new)
        if let failure { throw .notApplied(failure) }
        return true
    }

    /// Runs `body` once every earlier caller's body has finished, in arrival order.
    private func exclusively<T, E: Error>(_ body: () async throws(E) -> T) async throws(E) -> T {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        }
        busy = true
        defer {
            if waiters.isEmpty {
                busy = false
            } else {
                // Hand the gate over directly: a newcomer cannot slip in between.
                waiters.removeFirst().resume()
            }
        }
        return try await body()
    }
}

/// Why an edit or apply was not (fully) carried out.
public enum EditFailure: Error, Equatable, CustomStringConvertible {
    /// The edit does not apply or the result is invalid; nothing changed.
    case refused(EditError)
    /// The state file could not be written; nothing changed.
    case notSaved(StateStoreError)
    /// Saved, but the datapath refused a write; the maps catch up when a retry succeeds.
    case notApplied(ReconcileError)
    /// New VIPs on the host's own addresses, not forced; nothing changed.
    case onHostAddress([VIPKey])
    /// An apply planned against another version of the state; nothing changed.
    case stateChanged(expected: String, current: String)

    public var description: String {
        switch self {
        case .refused(let error): error.description
        case .notSaved(let error): "not saved, nothing changed: \(error)"
        case .notApplied(let error): "saved, but the datapath is not up to date yet (retrying): \(error)"
        case .stateChanged(let expected, let current):
            "the services changed since the plan was made (version \(expected), now \(current)); nothing applied: "
                + "review the new plan and apply again"
        case .onHostAddress(let vips):
            vips.map { "VIP \($0): \($0.address) is an address of this host; a VIP there takes the host's own "
                + "traffic to \($0.port == 0 ? "every port (SSH, BGP)" : "port \($0.port)"); force it to mean it" }
                .joined(separator: "; ")
        }
    }
}

extension Edit {
    /// The edit as a log value, in the API's words: `add_backend 10.0.0.10:80/tcp 192.0.2.13 weight 50`.
    var summary: String {
        let scope = { (vip: VIPKey?) in vip.map { " \($0)" } ?? " (every VIP)" }
        switch self {
        case .addVIP(let service):
            let timeout = service.udpIdleTimeout.map { " udp_idle_timeout \($0.components.seconds)s" } ?? ""
            return "add_vip \(service.vip) hash \(service.hash.rawValue)\(timeout)"
        case .removeVIP(let vip): return "remove_vip \(vip)"
        case .addBackend(let vip, let backend): return "add_backend \(vip) \(backend.address) weight \(backend.weight)"
        case .removeBackend(let vip, let address): return "remove_backend \(vip) \(address)"
        case .setWeight(let vip, let address, let weight): return "set_weight \(vip) \(address) \(weight)"
        case .drain(let address, let vip): return "drain\(scope(vip)) \(address)"
        case .undrain(let address, let vip): return "undrain\(scope(vip)) \(address)"
        case .replaceServices(let services): return "replace_services (\(services.count) VIPs)"
        }
    }
}
