/// A VIP index's state in the `vips` map (`lb_vip_info`).
public struct VIPInfo: Hashable, Sendable {
    public var flags: VIPFlags
    /// The ring new flows are hashed into: 0 or 1.
    public var liveRing: UInt32
    /// 0: the global `udp_idle_timeout`.
    public var udpIdleTimeoutSeconds: UInt32
    /// Changes whenever the index passes to another VIP: connection entries of the
    /// previous VIP (which store its low 16 bits) stop matching.
    public var generation: UInt32
    /// `VIPFlags.quic` only: the connection ID and server id lengths (`QUICSettings`).
    public var quicConnectionIDLength: UInt8
    public var quicServerIDLength: UInt8

    public init(flags: VIPFlags, liveRing: UInt32, udpIdleTimeoutSeconds: UInt32, generation: UInt32,
                quicConnectionIDLength: UInt8 = 0, quicServerIDLength: UInt8 = 0) {
        self.flags = flags
        self.liveRing = liveRing
        self.udpIdleTimeoutSeconds = udpIdleTimeoutSeconds
        self.generation = generation
        self.quicConnectionIDLength = quicConnectionIDLength
        self.quicServerIDLength = quicServerIDLength
    }

    /// An index never written: the zero-filled array entry.
    static let zero = VIPInfo(flags: [], liveRing: 0, udpIdleTimeoutSeconds: 0, generation: 0)
}
