import CBPFObjects
import CLBABI
import CLibbpf

/// The decapsulator (bpf/decap.bpf.c), run on backends: strips the outer header of
/// packets the balancer encapsulated to one of `decapAddrs`. Pinned and adopted exactly
/// like `BalancerDatapath` (program `decap`, maps under their names).
public final class DecapDatapath: Sendable {
    public static let programName = "decap"

    public let pinDirectory: String?
    public let origin: DatapathOrigin
    public var adopted: Bool { origin == .adopted }

    public let program: BPFProgram
    public var programFD: Int32 { program.rawFD }
    /// Outer destination addresses to strip (value unused).
    public let decapAddrs: BPFMap<lb_vip_addr_key, UInt32>
    /// Per-CPU counters (key 0), indexed by `lb_decap_stat`.
    public let decapStats: BPFMap<UInt32, lb_decap_stats>

    /// Opens the decapsulator pinned at `pinDirectory`, adopting or loading as
    /// `BalancerDatapath.open` does. `maxAddresses` sizes `decap_addrs` (nil keeps the
    /// object's size); a different size than the pinned map's is an incompatible pin.
    public static func open(pinDirectory: String, maxAddresses: UInt32? = nil, objectPath: String? = nil,
                            policy: ProgramPolicy = .adopt) throws -> DecapDatapath {
        try DecapDatapath(ObjectLoader.open(spec(maxAddresses), objectPath: objectPath,
                                            pinDirectory: pinDirectory, policy: policy),
                          pinDirectory: pinDirectory)
    }

    /// A private, unpinned decapsulator (tests).
    public static func loadUnpinned(maxAddresses: UInt32? = nil, objectPath: String? = nil) throws -> DecapDatapath {
        try DecapDatapath(ObjectLoader.open(spec(maxAddresses), objectPath: objectPath, pinDirectory: nil),
                          pinDirectory: nil)
    }

    /// Removes the decapsulator's pins; see `BalancerDatapath.removePins`.
    @discardableResult
    public static func removePins(pinDirectory: String, objectPath: String? = nil) throws -> [String] {
        try ObjectLoader.removePins(spec(nil), directory: pinDirectory, objectPath: objectPath)
    }

    private static func spec(_ maxAddresses: UInt32?) -> ObjectSpec {
        var sizes: [String: UInt32] = ["decap_stats": 1]
        if let maxAddresses { sizes["decap_addrs"] = maxAddresses }
        return ObjectSpec(
            objectName: "decap",
            embedded: embeddedObject(lb_decap_object_bytes(), lb_decap_object_size()),
            pinnedProgram: programName,
            programs: [programName],
            maps: ["decap_addrs", "decap_stats"],
            maxEntries: sizes,
            requiredStructs: ["lb_vip_addr_key", "lb_decap_stats"])
    }

    private init(_ loaded: LoadedObject, pinDirectory: String?) throws {
        self.pinDirectory = pinDirectory
        origin = loaded.origin
        program = try loaded.program(Self.programName)
        decapAddrs = try loaded.map("decap_addrs")
        decapStats = try loaded.map("decap_stats")
    }

    /// The counters summed across CPUs, indexed by `lb_decap_stat`.
    public func counters() throws -> [UInt64] {
        try decapStats.counters(key: 0)
    }

    /// One counter summed across CPUs.
    public func counter(_ stat: lb_decap_stat) throws -> UInt64 {
        try decapStats.counter(key: 0, index: stat.rawValue)
    }
}
