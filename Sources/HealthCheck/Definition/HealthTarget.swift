import NIOCore

/// What one checker probes: a backend address, the resolved port and the definition.
///
/// Two services whose backends resolve to equal targets share one checker. The port is
/// resolved here (the definition's `port`, else the service's) and removed from the
/// stored definition, so "port 8080 via the service" and "port 8080 via `port:`" match.
public struct HealthTarget: Sendable, Hashable, CustomStringConvertible {
    /// An IPv4 or IPv6 literal: checks go to the address the datapath sends to, never
    /// through DNS.
    public let address: String
    public let port: UInt16
    public let definition: HealthCheckDefinition
    /// The address parsed once, with the port, for connecting.
    let socketAddress: SocketAddress

    public init(address: String, servicePort: UInt16, definition: HealthCheckDefinition) throws(HealthCheckConfigError) {
        let port = definition.port ?? servicePort
        guard let socketAddress = try? SocketAddress(ipAddress: address, port: Int(port)),
              let ip = socketAddress.ipAddress else {
            throw HealthCheckConfigError("address", "backend address \"\(address)\" is not an IPv4 or IPv6 address")
        }
        guard port != 0 || definition.type == .none else {
            throw HealthCheckConfigError("port", "port must be between 1 and 65535 (got 0)")
        }
        self.address = ip
        self.port = port
        self.definition = definition.withoutPort()
        self.socketAddress = socketAddress
    }

    /// `10.0.0.1:80 http`, `[2001:db8::1]:443 https`.
    public var description: String { "\(hostPort) \(definition.type.rawValue)" }

    /// The address and port as a Host header or URL spells them.
    var hostPort: String { address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)" }
}
