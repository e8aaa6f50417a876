/// One backend of one service: the unit of health.
public struct BackendRef: Hashable, Sendable, CustomStringConvertible {
    public let vip: VIPKey
    public let address: IPAddress

    public init(vip: VIPKey, address: IPAddress) {
        self.vip = vip
        self.address = address
    }

    public var description: String { "\(address) in \(vip)" }
}
