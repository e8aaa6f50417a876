import Logging
import Maglev

/// The only writer of the datapath's VIPs, rings and backends (bpf/lib/maps.h lists
/// every map's writers): turns the desired state and backend health into map
/// contents, writing only what differs from what it installed before.
///
/// Per VIP, the ring is the Maglev table of the backends that are up, have weight > 0
/// and are not drained. Every VIP has two rings; the reconciler remembers what each
/// holds, writes the new table into the one not in use (only the slots that differ
/// from what it holds), then flips `liveRing`, so a packet sees the old ring or the new
/// one, never a mix. The order of writes keeps every intermediate state servable:
///
/// 1. backends that are new or come up, before any ring names them;
/// 2. VIPs no longer wanted, removed (their index's generation moves on, so their
///    connection entries go stale when the index is reused);
/// 3. per changed VIP: standby ring, its QUIC server ids, then the VIP entry (flip,
///    flags, timeout);
/// 4. backends that went down, once no live ring names them (their flows re-pick);
/// 5. backends no service uses, cleared last. Their indices are quarantined: not handed
///    out again for `quarantine` (one second by default, while the pool has others),
///    so a packet that read an index from a ring just before the flip never reaches a
///    newcomer. An index handed out again gets the next generation, so the connection
///    entries of its previous backend are re-picked within their own VIP, never sent
///    to the newcomer, and its traffic counters start again from zero.
///
/// A VIP no packet can be reading the rings of (not installed yet, or without backends
/// since an earlier pass) gets its table in both rings: its next change is then a diff.
///
/// Health is per service and backend: a check that fails for one VIP takes the backend
/// out of that VIP's ring only (one address may serve port 80 and fail on port 443).
/// The datapath's entry is per address, so it is marked down, moving its established
/// flows, once it is unhealthy in every service that has it: the host is gone.
/// A backend new to a service starts as its check's `start_state` says; one without a
/// check is always healthy. A drained backend leaves the ring but stays up: its
/// established flows continue. A backend in several services has one index.
///
/// Panic (`ServiceHealthCheck.panicThreshold`): when fewer than the threshold's share
/// of a VIP's eligible backends pass their checks, its ring is built from all of them,
/// up or down, and their datapath entries stay up: checks failing for most backends at
/// once are more likely the checks' fault than the backends'. Backends that have not
/// passed a check since they joined the VIP (or since an adoption found them out) take
/// no part: panic never sends flows to a backend no check has vouched for.
///
/// A failed write stops the pass; what it touched is marked unknown and rewritten by
/// the next pass (`reconcile()`), which the caller retries.
public actor Reconciler {
    private let writer: any DatapathWriter
    private let limits: Limits
    private let logger: Logger

    private var desired = DesiredState()
    private var servicesByAddress: [IPAddress: Set<VIPKey>] = [:]
    /// Backends reported (or starting) down in a service; every other one is healthy.
    private var unhealthy: Set<BackendRef> = []
    /// The unhealthy backends that have not passed a check since they joined their
    /// service (or since an adoption found them out of the ring): left out of panics.
    private var neverUp: Set<BackendRef> = []
    /// VIPs in panic: their rings hold every eligible backend that has been up.
    private var panicking: Set<VIPKey> = []
    /// Until the first `apply` after an adoption: the backends each adopted VIP's live
    /// ring names, and the addresses installed (and those installed down), so that
    /// adopted health is kept instead of restarting every check from `start_state`.
    private var adoptedLive: [VIPKey: Set<IPAddress>]?
    private var adoptedAddresses: Set<IPAddress> = []
    private var adoptedDown: Set<IPAddress> = []
    /// VIPs whose ring or entry may need writing.
    private var dirty: Set<VIPKey> = []
    /// Addresses whose backend entry may need writing: their services or health changed.
    /// A pass looks at these only, so an edit costs the size of what it changed, not of
    /// the whole state; a full pass (the first, and the one after a failure) at every one.
    private var dirtyAddresses: Set<IPAddress> = []
    private var fullPass = true
    /// Passes run; `VIPSlot.entryPass` refers to them. Adoption must come before the first.
    private var pass = 0
    /// Set by the first `apply`. Before it, passes write nothing: no desired state is
    /// not an empty one, and taking it for one would withdraw every adopted VIP.
    private var hasDesiredState = false

    /// What each VIP index holds, for every index written or adopted.
    private var vipSlots: [UInt32: VIPSlot] = [:]
    private var vipIndices: [VIPKey: UInt32] = [:]
    private var vipPool: IndexPool
    private var backendSlots: [UInt32: BackendSlot] = [:]
    private var backendIndices: [IPAddress: UInt32] = [:]
    private var backendPool: IndexPool
    /// The generation of every backend index written or adopted, free ones included.
    private var backendGenerations: [UInt32: UInt16] = [:]
    /// Backend indices cleared, oldest first, with when they were.
    private var quarantined: [(index: UInt32, since: ContinuousClock.Instant)] = []
    private let quarantine: Duration

    public private(set) var stats = ReconcilerStats()
    /// The snapshot, health and counters as of the last pass, readable without waiting
    /// for a pass in progress (a scrape must not wait for a large apply).
    public nonisolated let published = ReconcilerPublication()
    /// The last pass failed: the maps are behind until `reconcile()` succeeds.
    public private(set) var needsRetry = false

    /// `limits` must be those the datapath was loaded with: VIP indices stay below
    /// `maxVIPs`, backend indices below `backendMapEntries`, rings have `ringSize` slots.
    /// `quarantine` is how long a cleared backend index stays unused: far longer than a
    /// packet spends in the XDP program.
    public init(writer: any DatapathWriter, limits: Limits, quarantine: Duration = .seconds(1),
                logger: Logger = Logger(label: "lbd.reconciler")) {
        self.writer = writer
        self.limits = limits
        self.quarantine = quarantine
        self.logger = logger
        vipPool = IndexPool(0..<UInt32(clamping: limits.maxVIPs))
        backendPool = IndexPool(1..<UInt32(clamping: limits.backendMapEntries))
    }

    // MARK: Inputs

    /// Makes `state` the desired state and reconciles. Only services that changed are
    /// recomputed.
    @discardableResult
    public func apply(_ state: DesiredState) throws(ReconcileError) -> ReconcileSummary {
        let changed = state.services.filter { desired.services[$0.key] != $0.value }.map(\.key)
        let removed = desired.services.keys.filter { state.services[$0] == nil }
        for vip in changed + removed {
            let old = desired.services[vip], new = state.services[vip]
            for backend in old?.backends ?? [] where new?.backend(backend.address) == nil {
                servicesByAddress[backend.address]?.remove(vip)
                if servicesByAddress[backend.address]?.isEmpty == true { servicesByAddress[backend.address] = nil }
                unhealthy.remove(BackendRef(vip: vip, address: backend.address))
                neverUp.remove(BackendRef(vip: vip, address: backend.address))
                dirtyAddresses.insert(backend.address)
            }
            for backend in new?.backends ?? [] {
                let ref = BackendRef(vip: vip, address: backend.address)
                let before = old?.backend(backend.address)
                if let new, before == nil, startsUnhealthy(backend, of: new) {
                    unhealthy.insert(ref)
                    neverUp.insert(ref)
                } else if let old, let before, old.check(for: before) != nil, new?.check(for: backend) == nil {
                    // Its check was removed: nothing will report it up again.
                    unhealthy.remove(ref)
                    neverUp.remove(ref)
                }
                servicesByAddress[backend.address, default: []].insert(vip)
                dirtyAddresses.insert(backend.address)
            }
        }
        panicking.subtract(removed)
        adoptedLive = nil
        adoptedAddresses = []
        adoptedDown = []
        dirty.formUnion(changed)
        desired = state
        hasDesiredState = true
        return try reconcile()
    }

    /// Whether a checked backend new to `service` starts out of its ring: as adopted
    /// after a restart (installed down, or eligible but left out of the live ring);
    /// else as its check's `start_state` says.
    private func startsUnhealthy(_ backend: BackendSpec, of service: ServiceSpec) -> Bool {
        guard let check = service.check(for: backend) else { return false }
        if let live = adoptedLive?[service.vip], adoptedAddresses.contains(backend.address) {
            let eligible = !backend.drained && backend.weight > 0
            return adoptedDown.contains(backend.address) || (eligible && !live.contains(backend.address))
        }
        return check.startState == .down
    }

    /// Records health check results and reconciles the VIPs whose backends changed, and
    /// only those. Results for a backend its service no longer has are ignored.
    @discardableResult
    public func setHealth(_ changes: [BackendRef: Bool]) throws(ReconcileError) -> ReconcileSummary {
        for (ref, up) in changes where unhealthy.contains(ref) == up && servicesByAddress[ref.address]?.contains(ref.vip) == true {
            if up {
                unhealthy.remove(ref)
                neverUp.remove(ref)
            } else {
                unhealthy.insert(ref)
            }
            dirty.insert(ref.vip)
            dirtyAddresses.insert(ref.address)
        }
        return try reconcile()
    }

    /// The backend's health in every service that has it.
    @discardableResult
    public func setHealth(_ address: IPAddress, up: Bool) throws(ReconcileError) -> ReconcileSummary {
        let refs = (servicesByAddress[address] ?? []).map { BackendRef(vip: $0, address: address) }
        return try setHealth(Dictionary(uniqueKeysWithValues: refs.map { ($0, up) }))
    }

    /// The backends out of their service's ring for health (not for draining or weight).
    public func unhealthyBackends() -> Set<BackendRef> {
        unhealthy
    }

    /// Left out of its service's ring for health: unhealthy, unless its service is in
    /// panic and it has been up.
    private func isExcluded(_ ref: BackendRef) -> Bool {
        unhealthy.contains(ref) && !(panicking.contains(ref.vip) && !neverUp.contains(ref))
    }

    /// Out of the ring of every service that has it: its datapath entry is marked down.
    private func isDown(_ address: IPAddress) -> Bool {
        guard let vips = servicesByAddress[address], !vips.isEmpty else { return false }
        return vips.allSatisfy { isExcluded(BackendRef(vip: $0, address: address)) }
    }

    /// Whether fewer than the service's panic threshold of its eligible backends that
    /// have been up pass their checks.
    private func panics(_ service: ServiceSpec) -> Bool {
        let threshold = service.panicThreshold
        guard threshold > 0 else { return false }
        var counted = 0, up = 0
        for backend in service.backends where !backend.drained && backend.weight > 0 {
            let ref = BackendRef(vip: service.vip, address: backend.address)
            guard !neverUp.contains(ref) else { continue }
            counted += 1
            if !unhealthy.contains(ref) { up += 1 }
        }
        return counted > 0 && up * 100 < threshold * counted
    }

    /// Enters or leaves panic for `vips` as their backends' health says, loudly; a VIP
    /// that changes gets its ring and its backends' entries looked at in this pass.
    private func assessPanic(_ vips: some Sequence<VIPKey>) {
        for vip in vips {
            guard let service = desired.services[vip] else {
                panicking.remove(vip)
                continue
            }
            let panic = panics(service)
            guard panic != panicking.contains(vip) else { continue }
            if panic { panicking.insert(vip) } else { panicking.remove(vip) }
            dirty.insert(vip)
            dirtyAddresses.formUnion(service.backends.map(\.address))
            let eligible = service.backends.filter { !$0.drained && $0.weight > 0 }
            let up = eligible.filter { !unhealthy.contains(BackendRef(vip: vip, address: $0.address)) }
            let metadata: Logger.Metadata = [
                "vip": "\(vip)", "backends_up": "\(up.count)", "backends": "\(eligible.count)",
                "panic_threshold": "\(service.panicThreshold)%",
            ]
            if panic {
                logger.error("VIP in panic: too few backends pass their checks; new flows go to every backend, up or down",
                             metadata: metadata)
            } else {
                logger.notice("VIP out of panic: new flows go to the backends that pass their checks", metadata: metadata)
            }
        }
    }

    /// Takes over what a previous daemon installed, before the first `apply`: index
    /// assignments, ring contents, generations, and backend health (a checked backend
    /// its VIP's live ring leaves out, or installed down, starts unhealthy). The first
    /// `apply` then writes only what differs from the new desired state: nothing, when
    /// it is the same.
    /// Refused, changing nothing, when the content does not fit the limits.
    public func adopt(_ installed: InstalledState) throws(ReconcileError) {
        guard pass == 0, vipSlots.isEmpty, backendSlots.isEmpty else {
            throw .adoption("the reconciler has already adopted or written the maps")
        }
        try Self.check(installed, limits: limits)
        for vip in installed.vips.sorted(by: { $0.index < $1.index }) {
            var slot = VIPSlot()
            slot.keyInstalled = true
            slot.info = vip.info
            slot.rings[Int(vip.info.liveRing)] = vip.liveSlots
            slot.rings[1 - Int(vip.info.liveRing)] = vip.standbySlots
            if vip.info.flags.contains(.quic) { slot.quicServers = nil }
            vipSlots[vip.index] = slot
            vipIndices[vip.key] = vip.index
            vipPool.reserve(vip.index)
            dirty.insert(vip.key)
        }
        for (index, generation) in installed.freeGenerations where vipSlots[index] == nil && index < vipPool.range.upperBound {
            vipSlots[index] = VIPSlot(info: VIPInfo(flags: .noBackend, liveRing: 0, udpIdleTimeoutSeconds: 0,
                                                    generation: generation))
        }
        for (index, generation) in installed.freeBackendGenerations where backendPool.range.contains(index) {
            backendGenerations[index] = generation
        }
        for backend in installed.backends.sorted(by: { $0.index < $1.index }) {
            backendSlots[backend.index] = BackendSlot(address: backend.address, up: backend.up)
            backendGenerations[backend.index] = backend.generation
            backendPool.reserve(backend.index)
            // A second index of the same address is cleared by the first pass.
            guard backendIndices[backend.address] == nil else { continue }
            backendIndices[backend.address] = backend.index
            adoptedAddresses.insert(backend.address)
            if !backend.up { adoptedDown.insert(backend.address) }
            dirtyAddresses.insert(backend.address)
        }
        let addresses = Dictionary(installed.backends.map { ($0.index, $0.address) }, uniquingKeysWith: { first, _ in first })
        adoptedLive = Dictionary(installed.vips.map { vip in
            let serving = !vip.info.flags.contains(.noBackend)
            return (vip.key, serving ? Set(Set(vip.liveSlots).compactMap { addresses[$0] }) : [])
        }, uniquingKeysWith: { first, _ in first })
        publish()
        logger.info("adopted installed state", metadata: [
            "vips": "\(installed.vips.count)", "backends": "\(installed.backends.count)",
        ])
    }

    /// Index assignments, installed VIP entries and backend states.
    public func snapshot() -> ReconcilerSnapshot {
        ReconcilerSnapshot(
            vips: vipIndices.sorted { $0.key < $1.key }.map { key, index in
                let slot = vipSlots[index] ?? VIPSlot()
                return .init(key: key, index: index, info: slot.info, activeBackends: slot.liveAddresses,
                             backendsUp: slot.backendsUp, panic: slot.panic)
            },
            backends: backendIndices.sorted { $0.key < $1.key }.map { address, index in
                .init(address: address, index: index, up: backendSlots[index]?.up)
            })
    }

    private func publish() {
        published.publish(ReconcilerView(snapshot: snapshot(), unhealthy: unhealthy, stats: stats))
    }

    // MARK: The pass

    /// Brings the maps to the desired state and health; writes nothing when they are
    /// there already, or before the first `apply`. Call again after a failure to finish
    /// the work.
    @discardableResult
    public func reconcile() throws(ReconcileError) -> ReconcileSummary {
        guard hasDesiredState else { return ReconcileSummary() }
        pass += 1
        stats.reconciles += 1
        let now = ContinuousClock.now
        while let first = quarantined.first, now - first.since >= quarantine {
            backendPool.release(first.index)
            quarantined.removeFirst()
        }
        var summary = ReconcileSummary()
        do throws(ReconcileError) {
            assessPanic(fullPass ? Array(desired.services.keys) + Array(panicking) : Array(dirty))
            let addresses = fullPass ? Array(servicesByAddress.keys) : dirtyAddresses.filter { servicesByAddress[$0] != nil }
            let needed = addresses.sorted()
            try bringUpBackends(needed, &summary)
            try removeUnwantedVIPs(&summary)
            for vip in dirty.sorted() {
                if let service = desired.services[vip] { try reconcileVIP(service, &summary) }
                dirty.remove(vip)
            }
            try takeDownBackends(needed, &summary)
            if fullPass {
                try clearUnusedBackends(&summary)
            } else {
                try clearBackends(of: dirtyAddresses.filter { servicesByAddress[$0] == nil }.sorted(), &summary)
            }
            dirtyAddresses = []
            fullPass = false
            needsRetry = false
        } catch {
            fullPass = true
            needsRetry = true
            stats.failures += 1
            publish()
            logger.error("reconcile failed; retry to finish", metadata: ["error": "\(error)"])
            throw error
        }
        publish()
        if summary.writes > 0 {
            logger.info("reconciled", metadata: [
                "writes": "\(summary.writes)", "vips_installed": "\(summary.vipsInstalled)",
                "vips_removed": "\(summary.vipsRemoved)", "rings": "\(summary.ringsWritten)",
                "backends_set": "\(summary.backendsSet)", "backends_cleared": "\(summary.backendsCleared)",
            ])
        }
        return summary
    }

    /// Step 1: an index and entry for every backend address in use; up ones marked up.
    private func bringUpBackends(_ needed: [IPAddress], _ summary: inout ReconcileSummary) throws(ReconcileError) {
        for address in needed {
            let up = !isDown(address)
            if let index = backendIndices[address] {
                guard up, backendSlots[index]?.up != true else { continue }
                try setBackend(index, address, up: true, &summary)
            } else {
                let index = try allocateBackendIndex(for: address)
                backendIndices[address] = index
                backendSlots[index] = BackendSlot(address: address, up: nil)
                backendGenerations[index, default: 0] &+= 1
                try setBackend(index, address, up: up, &summary)
            }
        }
    }

    /// A free index; a quarantined one (the longest quarantined) only when none is, which
    /// `Limits.backendMapEntries` makes rare: it needs the whole backend set replaced
    /// twice within the quarantine.
    private func allocateBackendIndex(for address: IPAddress) throws(ReconcileError) -> UInt32 {
        if let index = backendPool.allocate() { return index }
        guard !quarantined.isEmpty else { throw .noFreeBackendIndex(address) }
        let index = quarantined.removeFirst().index
        logger.warning("backend index reused before the end of its quarantine", metadata: [
            "index": "\(index)", "address": "\(address)",
        ])
        return index
    }

    /// Step 2.
    private func removeUnwantedVIPs(_ summary: inout ReconcileSummary) throws(ReconcileError) {
        for (vip, index) in vipIndices.sorted(by: { $0.key < $1.key }) where desired.services[vip] == nil {
            try perform("remove VIP \(vip) (index \(index))", \.vipsRemoved, &summary) {
                try writer.removeVIP(vip)
            }
            vipIndices[vip] = nil
            var slot = vipSlots[index] ?? VIPSlot()
            slot.keyInstalled = false
            slot.infoUncertain = false
            slot.liveInputs = nil
            // As the datapath does (DatapathWriter.removeVIP).
            slot.info.generation &+= 1
            slot.info.flags = .noBackend
            slot.entryPass = pass
            vipSlots[index] = slot
            vipPool.release(index)
            logger.info("VIP removed", metadata: ["vip": "\(vip)", "index": "\(index)"])
            // Its server ids are stale by the generation already: deleted so the map does not
            // fill up. Should this fail, the index's next VIP deletes them with its first write.
            defer { vipSlots[index] = slot }
            try writeQUICServers([:], of: &slot, vip: vip, index: index, &summary)
        }
    }

    /// Step 3 for one VIP: an index if it has none, its table into the standby ring if
    /// the table changed, then its entry if anything in it changed.
    private func reconcileVIP(_ service: ServiceSpec, _ summary: inout ReconcileSummary) throws(ReconcileError) {
        let vip = service.vip
        let index = try vipIndex(for: vip)
        var slot = vipSlots[index] ?? VIPSlot()
        defer { vipSlots[index] = slot }
        if slot.infoUncertain {
            // A failed entry write may or may not have flipped the ring: write it again,
            // so the live ring is known before the standby one is touched.
            try perform("install VIP \(vip) (index \(index))", \.vipsInstalled, &summary) {
                try writer.installVIP(vip, index: index, info: slot.info)
            }
            slot.infoUncertain = false
            slot.keyInstalled = true
            slot.entryPass = pass
        }
        let inputs = service.backends
            .filter { !$0.drained && $0.weight > 0 && !isExcluded(BackendRef(vip: vip, address: $0.address)) }
            .map { TableInput(address: $0.address, weight: $0.weight) }
            .sorted { $0.address < $1.address }
        var live = Int(slot.info.liveRing & 1)
        if inputs.isEmpty {
            slot.liveInputs = []
        } else if inputs != slot.liveInputs || slot.rings[live] == nil {
            let slots = try ringSlots(vip, inputs)
            if slots != slot.rings[live] {
                let wasServing = slot.keyInstalled && !slot.info.flags.contains(.noBackend)
                try writeRing(1 - live, of: &slot, vip: vip, index: index, slots: slots, &summary)
                if !wasServing, slot.entryPass < pass {
                    try writeRing(live, of: &slot, vip: vip, index: index, slots: slots, &summary)
                }
                let changed = wasServing ? slot.rings[live].map { Self.changedSlots(from: $0, to: slots).count } : nil
                stats.lastRingChange = RingChange(vip: vip, changedSlots: changed ?? limits.ringSize,
                                                  ringSize: limits.ringSize)
                live = 1 - live
            }
            slot.liveInputs = inputs
        }
        slot.liveAddresses = inputs.map(\.address)
        slot.backendsUp = inputs.filter { !unhealthy.contains(BackendRef(vip: vip, address: $0.address)) }.count
        slot.panic = panicking.contains(vip)
        try writeQUICServers(quicServers(of: service), of: &slot, vip: vip, index: index, &summary)
        var flags: VIPFlags = service.hash == .source ? .hashSourceOnly : []
        if service.onBackendDown == .keep { flags.insert(.keepFlowsOnDown) }
        if inputs.isEmpty { flags.insert(.noBackend) }
        if service.quic != nil { flags.insert(.quic) }
        let timeout = UInt32(clamping: service.udpIdleTimeout?.components.seconds ?? 0)
        let info = VIPInfo(flags: flags, liveRing: UInt32(live), udpIdleTimeoutSeconds: timeout,
                           generation: slot.info.generation,
                           quicConnectionIDLength: UInt8(clamping: service.quic?.connectionIDLength ?? 0),
                           quicServerIDLength: UInt8(clamping: service.quic?.serverIDLength ?? 0))
        guard info != slot.info || !slot.keyInstalled else { return }
        let isNew = !slot.keyInstalled
        slot.info = info
        slot.infoUncertain = true
        try perform("install VIP \(vip) (index \(index))", \.vipsInstalled, &summary) {
            try writer.installVIP(vip, index: index, info: info)
        }
        slot.infoUncertain = false
        slot.keyInstalled = true
        slot.entryPass = pass
        // New VIPs are rare and worth a line; flips follow every health change.
        logger.log(level: isNew ? .info : .debug, isNew ? "VIP installed" : "VIP updated", metadata: [
            "vip": "\(vip)", "index": "\(index)", "ring": "\(live)", "generation": "\(info.generation)",
            "backends": "\(inputs.count)", "flags": "\(info.flags.rawValue)",
        ])
    }

    /// The server ids of a QUIC service's backends, whatever their health or drain: the
    /// datapath routes to a backend only while it is up, and a draining one keeps its
    /// connections. Step 1 gave every backend an index.
    private func quicServers(of service: ServiceSpec) -> [UInt32: QUICServer] {
        guard service.quic != nil else { return [:] }
        var servers: [UInt32: QUICServer] = [:]
        for backend in service.backends {
            guard let id = backend.quicServerID, let index = backendIndices[backend.address] else { continue }
            servers[UInt32(id)] = QUICServer(backendIndex: index, backendGeneration: backendGenerations[index] ?? 0)
        }
        return servers
    }

    /// Makes the VIP index's server ids `servers` under its current generation, unless
    /// they are known to be so already.
    private func writeQUICServers(_ servers: [UInt32: QUICServer], of slot: inout VIPSlot, vip: VIPKey, index: UInt32,
                                  _ summary: inout ReconcileSummary) throws(ReconcileError) {
        let wanted = QUICServerSet(generation: slot.info.generation, servers: servers)
        guard slot.quicServers != wanted, !(slot.quicServers?.servers.isEmpty == true && servers.isEmpty) else { return }
        slot.quicServers = nil
        try perform("QUIC server ids of VIP \(vip) (index \(index), \(servers.count))", \.quicServersWritten, &summary) {
            try writer.writeQUICServers(vipIndex: index, vipGeneration: wanted.generation, servers: servers)
        }
        slot.quicServers = wanted
    }

    /// The VIP's index; a free one, with the next generation, for a VIP that has none.
    private func vipIndex(for vip: VIPKey) throws(ReconcileError) -> UInt32 {
        if let index = vipIndices[vip] { return index }
        guard let index = vipPool.allocate() else { throw .noFreeVIPIndex(vip) }
        var slot = vipSlots[index] ?? VIPSlot()
        slot.keyInstalled = false
        slot.liveInputs = nil
        slot.info.generation &+= 1
        vipSlots[index] = slot
        vipIndices[vip] = index
        return index
    }

    /// Writes `slots` into ring `ring` of the VIP: only the slots that differ from what
    /// the ring holds, nothing if none do, all if unknown. The caller makes sure no
    /// packet reads that ring.
    private func writeRing(_ ring: Int, of slot: inout VIPSlot, vip: VIPKey, index: UInt32, slots: [UInt32],
                           _ summary: inout ReconcileSummary) throws(ReconcileError) {
        let changed = slot.rings[ring].map { Self.changedSlots(from: $0, to: slots) }
        if changed != [] {
            slot.rings[ring] = nil
            let count = changed?.count ?? limits.ringSize
            try perform("ring \(ring) of VIP \(vip) (index \(index), \(count) slots)", \.ringsWritten, &summary) {
                try writer.writeRing(vipIndex: index, ring: UInt32(ring), slots: slots, changedSlots: changed)
            }
            stats.ringSlotsWritten += count
        }
        slot.rings[ring] = slots
    }

    /// The table of `inputs` as backend indices, slot by slot.
    private func ringSlots(_ vip: VIPKey, _ inputs: [TableInput]) throws(ReconcileError) -> [UInt32] {
        do throws(MaglevError) {
            let table = try MaglevTable(
                backends: try inputs.map { input throws(MaglevError) in
                    try MaglevBackend(id: input.address.identity, weight: input.weight)
                },
                size: limits.ringSize)
            let indices = Dictionary(uniqueKeysWithValues: inputs.map {
                ($0.address.identity, backendIndices[$0.address] ?? 0)
            })
            // Step 1 gave every address in use an index, so no slot gets 0 ("no backend").
            let byPosition = table.backends.map { indices[$0.id] ?? 0 }
            return table.slots.map { byPosition[Int($0)] }
        } catch {
            throw .table(vip, error)
        }
    }

    /// Step 4: backends reported down, now that no live ring names them.
    private func takeDownBackends(_ needed: [IPAddress], _ summary: inout ReconcileSummary) throws(ReconcileError) {
        for address in needed where isDown(address) {
            guard let index = backendIndices[address], backendSlots[index]?.up != false else { continue }
            try setBackend(index, address, up: false, &summary)
        }
    }

    /// Step 5, full: entries of addresses no service has, and second indices of one
    /// address (after an adoption).
    private func clearUnusedBackends(_ summary: inout ReconcileSummary) throws(ReconcileError) {
        for (index, slot) in backendSlots.sorted(by: { $0.key < $1.key })
        where servicesByAddress[slot.address] == nil || backendIndices[slot.address] != index {
            try clearBackend(index, slot.address, &summary)
        }
    }

    /// Step 5 for `addresses`, which no service has any more.
    private func clearBackends(of addresses: [IPAddress], _ summary: inout ReconcileSummary) throws(ReconcileError) {
        for address in addresses {
            if let index = backendIndices[address] { try clearBackend(index, address, &summary) }
        }
    }

    /// Clears the entry; its index is quarantined (see the type).
    private func clearBackend(_ index: UInt32, _ address: IPAddress, _ summary: inout ReconcileSummary) throws(ReconcileError) {
        try perform("clear backend \(index) (\(address))", \.backendsCleared, &summary) {
            try writer.clearBackend(index: index, generation: backendGenerations[index] ?? 0)
        }
        backendSlots[index] = nil
        if backendIndices[address] == index { backendIndices[address] = nil }
        quarantined.append((index, ContinuousClock.now))
    }

    private func setBackend(_ index: UInt32, _ address: IPAddress, up: Bool,
                            _ summary: inout ReconcileSummary) throws(ReconcileError) {
        backendSlots[index] = BackendSlot(address: address, up: nil)
        try perform("backend \(index) := \(address) \(up ? "up" : "down")", \.backendsSet, &summary) {
            try writer.setBackend(index: index, address: address, up: up, generation: backendGenerations[index] ?? 0)
        }
        backendSlots[index] = BackendSlot(address: address, up: up)
        logger.debug("backend set", metadata: ["index": "\(index)", "address": "\(address)", "up": "\(up)"])
    }

    /// Runs one writer call, counting it; a failure becomes `.write` naming `what`.
    private func perform(_ what: @autoclosure () -> String, _ counter: WritableKeyPath<ReconcileSummary, Int>,
                         _ summary: inout ReconcileSummary, _ write: () throws -> Void) throws(ReconcileError) {
        do {
            try write()
        } catch {
            throw .write(what(), "\(error)")
        }
        summary[keyPath: counter] += 1
        stats.mapWrites += 1
    }

    /// Slots of `new` that differ from `old` (all of them if the sizes differ).
    static func changedSlots(from old: [UInt32], to new: [UInt32]) -> [Int] {
        guard old.count == new.count else { return Array(new.indices) }
        return new.indices.filter { old[$0] != new[$0] }
    }

    /// The maps' content fits the limits and is consistent; checked before anything is adopted.
    private static func check(_ installed: InstalledState, limits: Limits) throws(ReconcileError) {
        var indices = Set<UInt32>()
        for vip in installed.vips {
            guard vip.index < limits.maxVIPs, indices.insert(vip.index).inserted else {
                throw .adoption("VIP \(vip.key) has index \(vip.index), out of range or shared")
            }
            guard vip.info.liveRing < 2 else { throw .adoption("VIP \(vip.key) has live ring \(vip.info.liveRing)") }
            for ring in [vip.liveSlots, vip.standbySlots].compactMap({ $0 }) where ring.count != limits.ringSize {
                throw .adoption("VIP \(vip.key) has a ring of \(ring.count) slots; ring_size is \(limits.ringSize)")
            }
        }
        var backendIndices = Set<UInt32>()
        for backend in installed.backends {
            guard (1..<limits.backendMapEntries).contains(Int(backend.index)),
                  backendIndices.insert(backend.index).inserted else {
                throw .adoption("backend \(backend.address) has index \(backend.index), out of range or shared")
            }
        }
    }
}

/// What the reconciler knows one VIP index of the maps holds.
struct VIPSlot {
    /// The key of the VIP the index is assigned to is in `vip_map`.
    var keyInstalled = false
    /// The index's `vips` entry, as written (or adopted; zero for a fresh index).
    var info = VIPInfo.zero
    /// An entry write failed: the map may hold `info` or the entry before it.
    var infoUncertain = false
    /// The pass that last wrote the entry (0: none of this process): packets that read
    /// it before an earlier pass have long finished.
    var entryPass = 0
    /// Contents of rings 0 and 1; nil when unknown (written whole next time).
    var rings = RingPair()
    /// The backends the live table was built from ([] while none is eligible); nil when
    /// unknown: the table is rebuilt and compared with the live ring.
    var liveInputs: [TableInput]?
    /// The addresses of the live table's backends, and how many of them pass their
    /// checks (fewer than all only in a panic): what snapshots show.
    var liveAddresses: [IPAddress] = []
    var backendsUp = 0
    var panic = false
    /// The index's `quic_servers` entries as written; nil when unknown (a QUIC VIP
    /// adopted, or a failed write): written whole, deleting the others, next time. An
    /// index of no QUIC VIP is taken to have none: a leftover entry matches no VIP
    /// generation, or is never read (the VIP is not QUIC), and the index's next QUIC VIP
    /// deletes it with its first write.
    var quicServers: QUICServerSet? = QUICServerSet(generation: 0, servers: [:])
}

/// A VIP index's server ids and the VIP generation they were written with.
struct QUICServerSet: Equatable {
    var generation: UInt32
    var servers: [UInt32: QUICServer]
}

/// A backend entry as last written; `up` nil when a write to it failed.
struct BackendSlot {
    var address: IPAddress
    var up: Bool?
}

/// A backend that takes part in a table.
struct TableInput: Equatable {
    let address: IPAddress
    let weight: Int
}
