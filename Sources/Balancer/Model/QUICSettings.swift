/// QUIC connection-ID routing of a UDP VIP (`quic: true`): short-header packets go to
/// the backend whose server id their destination connection ID carries, in the QUIC-LB
/// plaintext layout (octet 0: config rotation bits; then the server id, big-endian), so
/// a client that changes address or port keeps its backend. The lengths are the ones
/// the backends' QUIC stacks are configured with: short headers carry no ID length.
public struct QUICSettings: Hashable, Sendable {
    /// Octets of the server id: up to 4, what the datapath's map key holds (QUIC-LB
    /// allows 15; 4 octets already name 2³² backends).
    public static let serverIDLengthRange = 1...4
    /// QUIC's largest connection ID (RFC 9000, 17.2).
    public static let maxConnectionIDLength = 20
    public static let defaultServerIDLength = 2
    /// aioquic's, quic-go's and quiche's default connection ID length.
    public static let defaultConnectionIDLength = 8

    /// `quic_server_id_length`: octets 1 ... this of the connection ID are the server id.
    public var serverIDLength: Int
    /// `quic_connection_id_length`: the length of the IDs the backends issue; a short
    /// header shorter than it is malformed. At least 1 + serverIDLength.
    public var connectionIDLength: Int

    public init(serverIDLength: Int = QUICSettings.defaultServerIDLength,
                connectionIDLength: Int = QUICSettings.defaultConnectionIDLength) {
        self.serverIDLength = serverIDLength
        self.connectionIDLength = connectionIDLength
    }

    /// Whether both lengths are ones the datapath can route on.
    public var lengthsAreValid: Bool {
        Self.serverIDLengthRange.contains(serverIDLength)
            && (serverIDLength + 1...Self.maxConnectionIDLength).contains(connectionIDLength)
    }

    /// The server ids `serverIDLength` octets hold.
    public var serverIDRange: ClosedRange<Int> { 0...(1 << (8 * min(max(serverIDLength, 1), 4))) - 1 }
}
