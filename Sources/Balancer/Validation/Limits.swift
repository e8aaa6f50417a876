import Maglev

/// What the datapath was sized for (the `limits:` section of the configuration) and what
/// it can send: every desired state is checked against them before it is accepted.
public struct Limits: Equatable, Sendable {
    /// VIPs the node can serve at once (`vips`, `vip_map` map entries). Every VIP owns
    /// two rings, so this sizes the largest map: see `ringSize`.
    public var maxVIPs: Int
    /// Distinct backend addresses across all services (a backend in several services
    /// counts once: the datapath shares its entry).
    public var maxBackends: Int
    /// Slots of each Maglev ring: prime, and at least 100 × the backends of any service.
    /// The rings take maxVIPs × 2 × ringSize × 4 bytes of kernel memory.
    public var ringSize: Int
    /// Entries of the connection table (an LRU: the least recently seen flows go first).
    public var connectionTable: Int
    /// Families a backend may have: those the node has an encapsulation source for
    /// (`encap_source_v4`, `encap_source_v6`); the outer header is the backend's family.
    public var backendFamilies: Set<IPAddress.Family>

    public init(maxVIPs: Int = 512, maxBackends: Int = 4096, ringSize: Int = MaglevTable.defaultSize,
                connectionTable: Int = 1_000_000, backendFamilies: Set<IPAddress.Family> = [.v4, .v6]) {
        self.maxVIPs = maxVIPs
        self.maxBackends = maxBackends
        self.ringSize = ringSize
        self.connectionTable = connectionTable
        self.backendFamilies = backendFamilies
    }

    /// The VIP indices the datapath has: the `vips` map holds `maxVIPs` entries, and a
    /// connection entry stores the index in 16 bits.
    public static let maxVIPsRange = 1...65_536
    /// Backend addresses: the datapath's backends map (see `backendMapEntries`) holds
    /// `2 × maxBackends + 1` entries and the connection table stores indices in 32 bits.
    public static let maxBackendsRange = 1...Int(UInt32.max / 2 - 1)
    /// Flows of the connection table: its array of buckets (144 bytes a flow) must
    /// stay below the kernel's 4 GiB bound on an array map (DatapathLimits.maxConnectionTable).
    public static let connectionTableRange = 1...28_000_000

    /// Entries the datapath's `backends` map needs (its `max_backends` at load time):
    /// index 0 is reserved ("no backend"), and a reconcile that replaces every backend
    /// holds the old indices (still in the live rings) and the new ones at once, while
    /// indices freed are kept out of use until the next reconcile.
    public var backendMapEntries: Int { 2 * maxBackends + 1 }

    /// The problems of the limits themselves; empty when the datapath can be sized so.
    public func validate() -> [ValidationError] {
        var errors: [ValidationError] = []
        for (key, value, range) in [("max_vips", maxVIPs, Self.maxVIPsRange),
                                    ("max_backends", maxBackends, Self.maxBackendsRange),
                                    ("connection_table", connectionTable, Self.connectionTableRange)]
        where !range.contains(value) {
            errors.append(.limitOutOfRange(key: key, value: value, range: range))
        }
        if let error = ringSizeError {
            errors.append(.ringSize(error))
        } else if Self.maxVIPsRange.contains(maxVIPs), UInt64(maxVIPs) * 2 * UInt64(ringSize) > UInt64(UInt32.max) {
            errors.append(.ringSlotsExceeded(maxVIPs: maxVIPs, ringSize: ringSize))
        }
        return errors
    }

    /// Maglev's verdict on `ringSize` (prime, within its bounds, room for one backend),
    /// from a table of one weight-0 backend: checked without populating anything.
    var ringSizeError: MaglevError? {
        do throws(MaglevError) {
            _ = try MaglevTable(backends: [MaglevBackend(id: [0], weight: 0)], size: ringSize)
            return nil
        } catch {
            return error
        }
    }
}
