/// What the pinned maps hold, read by a restarting daemon so that `Reconciler.adopt`
/// can take over the running datapath without rewriting what is already right.
///
/// Read it from the maps as follows: `vips` from every `vip_map` entry, with
/// `vips[index]` and the index's rings (`BalancerDatapath.readRing`); `backends` from
/// every `backends` entry whose family is not 0; `freeGenerations` from the `vips`
/// entries no `vip_map` key points to, `freeBackendGenerations` from the `backends`
/// entries whose family is 0 (zero generations may be left out of both).
public struct InstalledState: Equatable, Sendable {
    public struct VIP: Equatable, Sendable {
        public var key: VIPKey
        public var index: UInt32
        public var info: VIPInfo
        /// The ring `info.liveRing`, ring-size entries.
        public var liveSlots: [UInt32]
        /// The other ring; nil if not read, in which case it is rewritten whole at the
        /// VIP's next change.
        public var standbySlots: [UInt32]?

        public init(key: VIPKey, index: UInt32, info: VIPInfo, liveSlots: [UInt32], standbySlots: [UInt32]?) {
            self.key = key
            self.index = index
            self.info = info
            self.liveSlots = liveSlots
            self.standbySlots = standbySlots
        }
    }

    public struct Backend: Equatable, Sendable {
        public var index: UInt32
        public var address: IPAddress
        public var up: Bool
        public var generation: UInt16

        public init(index: UInt32, address: IPAddress, up: Bool, generation: UInt16 = 0) {
            self.index = index
            self.address = address
            self.up = up
            self.generation = generation
        }
    }

    public var vips: [VIP]
    public var backends: [Backend]
    /// Generation of each VIP index without a VIP: a VIP given such an index gets a
    /// later generation, so connection entries of its previous owner stay stale.
    public var freeGenerations: [UInt32: UInt32]
    /// Generation of each backend index without a backend: the same, for backends.
    public var freeBackendGenerations: [UInt32: UInt16]

    public init(vips: [VIP] = [], backends: [Backend] = [], freeGenerations: [UInt32: UInt32] = [:],
                freeBackendGenerations: [UInt32: UInt16] = [:]) {
        self.vips = vips
        self.backends = backends
        self.freeGenerations = freeGenerations
        self.freeBackendGenerations = freeBackendGenerations
    }
}
