import CLBABI

/// Load-time sizes of the balancer: they size the maps (`bpf_map__set_max_entries`) and
/// are written into the program's read-only `lb_limits`, so the verifier sees them as
/// constants. Changing them means new maps: pinned maps of other sizes are not adopted.
public struct DatapathLimits: Sendable, Equatable, CustomStringConvertible {
    public let maxVIPs: UInt32
    /// Backend slots, slot 0 included: index 0 is never a backend (LB_BACKEND_NONE).
    public let maxBackends: UInt32
    /// Slots of each Maglev ring; every VIP owns two. Primality is the Maglev module's job.
    public let ringSize: UInt32
    /// Flows the connection table holds (bpf/lib/flow_table.h; `flowBuckets` buckets).
    public let connectionTable: UInt32

    /// The largest `connectionTable`: the kernel allocates an array map below 4 GiB, and
    /// the table spends LB_FLOW_SLOTS_PER_FLOW 64-byte ways per flow and a 64-byte head
    /// per LB_FLOW_WAYS ways (28M flows: 4.03 GB).
    public static let maxConnectionTable: UInt32 = 28_000_000

    /// Throws `.invalidArgument` for a zero size or a ring map larger than UInt32 entries.
    public init(maxVIPs: UInt32, maxBackends: UInt32, ringSize: UInt32, connectionTable: UInt32) throws {
        let operation = "validate datapath limits"
        for (name, value) in [("maxVIPs", maxVIPs), ("maxBackends", maxBackends),
                              ("ringSize", ringSize), ("connectionTable", connectionTable)] where value == 0 {
            throw DatapathError.invalid(operation, "\(name) must be at least 1")
        }
        if maxVIPs > 65536 {
            throw DatapathError.invalid(operation, "maxVIPs \(maxVIPs) exceeds 65536 (connection entries hold a 16-bit VIP index)")
        }
        let (rings, overflow1) = maxVIPs.multipliedReportingOverflow(by: 2)
        let (entries, overflow2) = rings.multipliedReportingOverflow(by: ringSize)
        if overflow1 || overflow2 {
            throw DatapathError.invalid(operation,
                "maxVIPs * 2 * ringSize (\(UInt64(maxVIPs) * 2 * UInt64(ringSize))) exceeds \(UInt32.max) ring entries")
        }
        _ = entries
        if connectionTable > Self.maxConnectionTable {
            throw DatapathError.invalid(operation, "connectionTable \(connectionTable) exceeds \(Self.maxConnectionTable) flows")
        }
        self.maxVIPs = maxVIPs
        self.maxBackends = maxBackends
        self.ringSize = ringSize
        self.connectionTable = connectionTable
    }

    /// Chunks (`lb_ring_chunk`) one ring takes.
    public var chunksPerRing: UInt32 { (ringSize + UInt32(LB_RING_CHUNK_SLOTS) - 1) / UInt32(LB_RING_CHUNK_SLOTS) }

    /// Entries (buckets) of the `conn_table` map.
    public var flowBuckets: UInt32 { FlowTable.bucketCount(capacity: connectionTable) }

    /// Entries of the `rings` map: two rings per VIP.
    public var ringChunks: UInt32 { maxVIPs * 2 * chunksPerRing }

    /// The value written into the program's `.rodata`.
    var abi: lb_limits {
        lb_limits(abi_version: UInt32(LB_ABI_VERSION), max_vips: maxVIPs, max_backends: maxBackends, ring_size: ringSize,
                  connection_table: connectionTable)
    }

    public var description: String {
        "maxVIPs \(maxVIPs), maxBackends \(maxBackends), ringSize \(ringSize), connectionTable \(connectionTable)"
    }
}
