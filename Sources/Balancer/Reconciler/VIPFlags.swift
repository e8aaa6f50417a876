/// `lb_vip_info` flags. The raw values are the ABI's `LB_VIP_F_*`.
public struct VIPFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// LB_VIP_F_HASH_SOURCE_ONLY: new flows hash the client address only (`hash: source`).
    public static let hashSourceOnly = VIPFlags(rawValue: 1 << 0)
    /// LB_VIP_F_NO_BACKEND: no backend can take new flows; they are dropped and counted.
    public static let noBackend = VIPFlags(rawValue: 1 << 1)
    /// LB_VIP_F_KEEP_FLOWS_ON_DOWN: established flows stay on a backend that is down
    /// (`on_backend_down: keep`).
    public static let keepFlowsOnDown = VIPFlags(rawValue: 1 << 2)
    /// LB_VIP_F_QUIC: QUIC short headers go to the backend their connection ID names (`quic: true`).
    public static let quic = VIPFlags(rawValue: 1 << 3)
}
