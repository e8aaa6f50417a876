/// A `quic_servers` entry (`lb_quic_server`): the backend a QUIC VIP's server id names,
/// with the generation that backend index had when the entry was written, so an index
/// passed to another address never receives the previous backend's connections.
public struct QUICServer: Hashable, Sendable {
    public var backendIndex: UInt32
    public var backendGeneration: UInt16

    public init(backendIndex: UInt32, backendGeneration: UInt16) {
        self.backendIndex = backendIndex
        self.backendGeneration = backendGeneration
    }
}
