import CBPFObjects
import CLBABI
import CLibbpf

/// The XDP balancer (bpf/balancer.bpf.c): its program, its maps, and the operations the
/// control plane needs on them.
///
/// Opened from a bpffs pin directory, where the program is pinned as `balancer` and each
/// map under its own name. A restarted daemon adopts what is pinned (the running
/// datapath, its connection table and counters are untouched); see `open`.
public final class BalancerDatapath: Sendable {
    /// The name of the program, its pin and its kernel name.
    public static let programName = "balancer"

    public let limits: DatapathLimits
    /// Nil for `loadUnpinned`.
    public let pinDirectory: String?
    public let origin: DatapathOrigin
    /// True when the pinned program and maps were adopted as they were.
    public var adopted: Bool { origin == .adopted }

    public let program: BPFProgram
    public var programFD: Int32 { program.rawFD }

    // The maps are `package`, not part of the Datapath product: this package's tests and
    // benchmarks read and seed them directly; the daemon goes through the operations of
    // this type, one per kind of write. bpf/lib/maps.h says who writes each map.

    /// VIP (address, port, protocol) → VIP index. Port 0 matches every port.
    package let vipMap: BPFMap<lb_vip_key, UInt32>
    /// VIP index → flags, live ring, UDP timeout, generation.
    package let vips: BPFMap<UInt32, lb_vip_info>
    /// One bit per VIP address hash: a clear bit lets other traffic pass at once.
    package let vipFilter: BPFMap<UInt32, lb_vip_filter>
    /// Addresses carrying at least one VIP → number of VIPs on them (ICMP handling).
    package let vipAddrs: BPFMap<lb_vip_addr_key, UInt32>
    /// Backend index → address, flags. Index 0 is LB_BACKEND_NONE, never a backend.
    package let backends: BPFMap<UInt32, lb_backend>
    /// (VIP index, QUIC server id) → backend index, for QUIC VIPs.
    package let quicServers: BPFMap<lb_quic_server_key, lb_quic_server>
    /// Maglev slots → backend index, 16 to a chunk; see `writeRing` and `readRing`.
    package let rings: BPFMap<UInt32, lb_ring_chunk>
    /// Client flow → VIP index and backend, written by the program (bpf/lib/flow_table.h).
    package let connTable: FlowTable
    /// The single runtime configuration entry (key 0).
    package let config: BPFMap<UInt32, lb_config>
    /// Per-CPU traffic per VIP index.
    package let vipStats: BPFMap<UInt32, lb_traffic>
    /// Per-CPU SYNs, new flows and misses per VIP index.
    package let vipFlowStats: BPFMap<UInt32, lb_vip_flows>
    /// Per-CPU traffic per backend index.
    package let backendStats: BPFMap<UInt32, lb_traffic>
    /// Per-CPU global counters (key 0), indexed by `lb_stat`.
    package let globalStats: BPFMap<UInt32, lb_global_stats>
    /// LRU of LB_SOURCE_ENTRIES: (VIP, client prefix) → its new flows, written by the program.
    package let sourceFlows: BPFMap<lb_source_key, lb_source_flows>
    /// The single source grouping and new-flow limit entry (key 0).
    package let floodConfig: BPFMap<UInt32, lb_flood_config>
    /// Per-CPU counters of the per-source limit (key 0).
    package let floodStats: BPFMap<UInt32, lb_flood_stats>
    /// Per-CPU window of the per-CPU new-flow limit (key 0), the program's own state.
    package let floodWindow: BPFMap<UInt32, lb_flood_window>
    /// What a running capture copies (key 0); all zero when none runs.
    package let captureConfig: BPFMap<UInt32, lb_capture_config>
    /// Per-CPU counters of the running capture (key 0).
    package let captureStats: BPFMap<UInt32, lb_capture_stats>
    /// The ring buffer captured packets are written to (`openCaptureRing` reads it).
    let captureRing: FileDescriptor

    /// Opens the balancer pinned at `pinDirectory` (created if needed; it must be on bpffs).
    ///
    /// - Compatible pins (program and every map pinned, same map layouts as this object
    ///   with `limits`, the program this very build of the object — its hash is in its
    ///   .rodata —, using those maps, loaded with these limits): adopted with `.adopt`,
    ///   nothing loaded, nothing written (`origin == .adopted`).
    /// - Nothing pinned, or only some maps, or a program that is not adoptable (another
    ///   build: an upgrade or a downgrade): this binary's program is loaded, pinned maps
    ///   are reused with their contents, missing ones created and pinned, and the program
    ///   pinned last (`origin == .loaded`). The interface keeps the old program until
    ///   `attach` replaces it atomically.
    /// - `.reload`: as above even when the pins were adoptable.
    /// - A pinned map or program this object cannot use (maps created for another ABI —
    ///   `ABIRecord` —, other limits): throws `.incompatiblePins` listing each
    ///   difference, without changing anything. The daemon decides: refuse to start, or
    ///   `removeIncompatiblePins` and open again.
    ///
    /// `objectPath` loads a .bpf.o file instead of the embedded object (development).
    public static func open(pinDirectory: String, limits: DatapathLimits, objectPath: String? = nil,
                            policy: ProgramPolicy = .adopt) throws -> BalancerDatapath {
        let loaded = try ObjectLoader.open(spec(limits), objectPath: objectPath, pinDirectory: pinDirectory,
                                           policy: policy)
        return try BalancerDatapath(loaded, limits: limits, pinDirectory: pinDirectory)
    }

    /// Loads a private, unpinned balancer (tests, benchmarks): it lives while this object
    /// and any attachment or PROG_ARRAY entry holding the program live.
    public static func loadUnpinned(limits: DatapathLimits, objectPath: String? = nil) throws -> BalancerDatapath {
        let loaded = try ObjectLoader.open(spec(limits), objectPath: objectPath, pinDirectory: nil)
        return try BalancerDatapath(loaded, limits: limits, pinDirectory: nil)
    }

    /// Removes the balancer's pins (program and maps) from `pinDirectory`, and the
    /// directory if that leaves it empty; returns the names removed. A program still
    /// attached keeps running with its maps, but no daemon can reach them any more:
    /// detach first unless replacing the datapath right away.
    @discardableResult
    public static func removePins(pinDirectory: String, objectPath: String? = nil) throws -> [String] {
        // The limits only size maps; any valid ones do to list the object's maps.
        let anyLimits = try DatapathLimits(maxVIPs: 1, maxBackends: 1, ringSize: 1, connectionTable: 1)
        return try ObjectLoader.removePins(spec(anyLimits), directory: pinDirectory, objectPath: objectPath)
    }

    /// Removes the pins this binary cannot use with `limits` — every pin when the maps
    /// were created for another ABI; otherwise the maps of other layouts, the connection
    /// table with the VIP or backend maps its entries point into, and a pinned program
    /// of another type — and keeps the others with their contents. Returns the names
    /// removed; `open` then creates what is missing.
    @discardableResult
    public static func removeIncompatiblePins(pinDirectory: String, limits: DatapathLimits,
                                              objectPath: String? = nil) throws -> [String] {
        try ObjectLoader.removeIncompatiblePins(spec(limits), directory: pinDirectory, objectPath: objectPath)
    }

    /// The map ABI (LB_ABI_VERSION) taken for maps pinned without an ABI record: lbd
    /// recorded none before its ABI changed.
    public static let unrecordedMapABI = ABIRecord.unrecordedVersion

    static let mapNames = ["vip_map", "vips", "vip_filter", "vip_addrs", "backends", "rings", "conn_table", "config",
                           "vip_stats", "vip_flow_stats", "backend_stats", "global_stats", "source_flows", "flood_config",
                           "flood_stats", "flood_window", "flood_rings", "capture_config", "capture_scratch", "capture_stats",
                           "capture_ring", "quic_servers"]

    private static func spec(_ limits: DatapathLimits) -> ObjectSpec {
        var abi = limits.abi
        let rodata = withUnsafeBytes(of: &abi) { Array($0) }
        return ObjectSpec(
            objectName: "balancer",
            embedded: embeddedObject(lb_balancer_object_bytes(), lb_balancer_object_size()),
            pinnedProgram: programName,
            programs: [programName],
            maps: mapNames,
            maxEntries: [
                "vip_map": limits.maxVIPs, "vips": limits.maxVIPs, "vip_filter": 1,
                "vip_addrs": limits.maxVIPs, "vip_stats": limits.maxVIPs, "vip_flow_stats": limits.maxVIPs,
                "backends": limits.maxBackends, "backend_stats": limits.maxBackends, "quic_servers": limits.maxBackends,
                "rings": limits.ringChunks, "conn_table": limits.flowBuckets,
                "config": 1, "global_stats": 1, "flood_config": 1, "flood_stats": 1, "flood_window": 1,
                "flood_rings": limits.maxVIPs,
            ],
            requiredStructs: ["lb_limits", "lb_vip_key", "lb_vip_info", "lb_vip_addr_key", "lb_backend",
                              "lb_flow_key", "lb_flow", "lb_flow_slot", "lb_flow_bucket_head", "lb_flow_bucket", "lb_config", "lb_traffic", "lb_vip_flows", "lb_global_stats",
                              "lb_vip_filter", "lb_ring_chunk", "lb_source_key", "lb_source_flows", "lb_flood_config",
                              "lb_flood_stats", "lb_flood_window", "lb_flood_ring", "lb_capture_config", "lb_capture_record",
                              "lb_capture_stats", "lb_quic_server_key", "lb_quic_server"],
            rodata: [("lb_limits", rodata)],
            buildHashVariable: "lb_object_hash",
            references: ["conn_table": ["vip_map", "vips", "backends"], "source_flows": ["vips"],
                         "quic_servers": ["vips", "backends"]])
    }

    private init(_ loaded: LoadedObject, limits: DatapathLimits, pinDirectory: String?) throws {
        self.limits = limits
        self.pinDirectory = pinDirectory
        origin = loaded.origin
        program = try loaded.program(Self.programName)
        vipMap = try loaded.map("vip_map")
        vips = try loaded.map("vips")
        vipFilter = try loaded.map("vip_filter")
        vipAddrs = try loaded.map("vip_addrs")
        backends = try loaded.map("backends")
        rings = try loaded.map("rings")
        quicServers = try loaded.map("quic_servers")
        connTable = FlowTable(try loaded.map("conn_table"))
        config = try loaded.map("config")
        vipStats = try loaded.map("vip_stats")
        vipFlowStats = try loaded.map("vip_flow_stats")
        backendStats = try loaded.map("backend_stats")
        globalStats = try loaded.map("global_stats")
        sourceFlows = try loaded.map("source_flows")
        floodConfig = try loaded.map("flood_config")
        floodStats = try loaded.map("flood_stats")
        floodWindow = try loaded.map("flood_window")
        captureConfig = try loaded.map("capture_config")
        captureStats = try loaded.map("capture_stats")
        captureRing = try loaded.descriptor("capture_ring")
    }

    // MARK: Rings

    /// The first chunk of ring `ring` (0 or 1) of the VIP with index `vipIndex` in `rings`.
    public func ringBase(vipIndex: UInt32, ring: UInt32) throws -> UInt32 {
        guard vipIndex < limits.maxVIPs, ring < 2 else {
            throw DatapathError.invalid("locate ring", "VIP index \(vipIndex) (max \(limits.maxVIPs - 1)), ring \(ring)")
        }
        return (vipIndex * 2 + ring) * limits.chunksPerRing
    }

    /// Writes ring `ring` of a VIP to hold `slots` (`ringSize` backend indices), in one
    /// batch: every chunk, or only the chunks holding `changedSlots` (a Maglev diff).
    /// Write the ring the VIP does not use, then flip `lb_vip_info.ring`: packets never
    /// see a half-written ring.
    public func writeRing(vipIndex: UInt32, ring: UInt32, slots: [UInt32], changedSlots: [Int]? = nil) throws {
        guard slots.count == Int(limits.ringSize) else {
            throw DatapathError.invalid("write ring", "\(slots.count) slots given, rings have \(limits.ringSize)")
        }
        let base = try ringBase(vipIndex: vipIndex, ring: ring)
        let perChunk = Int(LB_RING_CHUNK_SLOTS)
        let chunkIndices = changedSlots.map { Array(Set($0.map { $0 / perChunk })).sorted() }
            ?? Array(0..<Int(limits.chunksPerRing))
        let chunks = chunkIndices.map { index -> lb_ring_chunk in
            var chunk = lb_ring_chunk()
            withUnsafeMutableBytes(of: &chunk.slots) { raw in
                let out = raw.bindMemory(to: UInt32.self)
                for i in 0..<perChunk where index * perChunk + i < slots.count {
                    out[i] = slots[index * perChunk + i]
                }
            }
            return chunk
        }
        try rings.updateBatch(keys: chunkIndices.map { base + UInt32($0) }, values: chunks)
    }

    /// The `ringSize` backend indices of ring `ring` of a VIP, as installed.
    public func readRing(vipIndex: UInt32, ring: UInt32) throws -> [UInt32] {
        let base = try ringBase(vipIndex: vipIndex, ring: ring)
        var slots: [UInt32] = []
        slots.reserveCapacity(Int(limits.chunksPerRing) * Int(LB_RING_CHUNK_SLOTS))
        for chunk in 0..<limits.chunksPerRing {
            let value = try rings.lookup(key: base + chunk) ?? lb_ring_chunk()
            withUnsafeBytes(of: value.slots) { slots.append(contentsOf: $0.bindMemory(to: UInt32.self)) }
        }
        return Array(slots.prefix(Int(limits.ringSize)))
    }

    // MARK: Counters

    /// The global counters summed across CPUs, indexed by `lb_stat` (LB_STAT_COUNT of them).
    public func globalCounters() throws -> [UInt64] {
        try globalStats.counters(key: 0)
    }

    /// One global counter summed across CPUs.
    public func counter(_ stat: lb_stat) throws -> UInt64 {
        try globalStats.counter(key: 0, index: stat.rawValue)
    }

    /// Traffic of the VIP with index `index`, summed across CPUs.
    public func vipTraffic(index: UInt32) throws -> (packets: UInt64, bytes: UInt64) {
        try traffic(vipStats, index)
    }

    /// SYNs, new flows and misses of the VIP with index `index`, summed across CPUs.
    public func vipFlows(index: UInt32) throws -> lb_vip_flows {
        try vipFlowStats.summed(key: index)
    }

    /// The connection table's entries: counted up to `tableCountSample`, estimated from
    /// that sample beyond (`FlowTable.count`: 0.2% standard error), so one call costs at most
    /// the walk of that many entries (docs/metrics.md gives the figures).
    public func connectionTableEntries() throws -> EntryCount {
        try connTable.count(sample: Self.tableCountSample)
    }

    public static let tableCountSample = 262_144

    /// Traffic sent to backend `index`, summed across CPUs.
    public func backendTraffic(index: UInt32) throws -> (packets: UInt64, bytes: UInt64) {
        try traffic(backendStats, index)
    }

    private func traffic(_ map: BPFMap<UInt32, lb_traffic>, _ index: UInt32) throws -> (packets: UInt64, bytes: UInt64) {
        let traffic = try map.summed(key: index)
        return (traffic.packets, traffic.bytes)
    }
}
