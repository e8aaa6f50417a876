import NIOCore

/// What one checker probes: a backend address, the resolved port and the definition,
/// and for a check through the tunnel, the tunnel.
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
    /// nil: the probe goes to `address` itself.
    public let tunnel: ProbeTunnel?
    /// Where the probe connects, parsed once: the backend, or the VIP through the tunnel.
    let socketAddress: SocketAddress

    public init(address: String, servicePort: UInt16, definition: HealthCheckDefinition,
                tunnel: ProbeTunnel? = nil) throws(HealthCheckConfigError) {
        let port = definition.port ?? servicePort
        guard let backend = try? SocketAddress(ipAddress: address, port: Int(port)), let ip = backend.ipAddress else {
            throw HealthCheckConfigError("address", "backend address \"\(address)\" is not an IPv4 or IPv6 address")
        }
        guard port != 0 || definition.type == .none else {
            throw HealthCheckConfigError("port", "port must be between 1 and 65535 (got 0)")
        }
        var destination = backend
        if let tunnel {
            guard let vip = try? SocketAddress(ipAddress: tunnel.vip, port: Int(port)) else {
                throw HealthCheckConfigError("via", "VIP \"\(tunnel.vip)\" is not an IPv4 or IPv6 address")
            }
            destination = vip
        }
        self.address = ip
        self.port = port
        self.definition = definition.withoutPort()
        self.tunnel = tunnel
        self.socketAddress = destination
    }

    /// `10.0.0.1:80 http`, `[2001:db8::1]:443 https`.
    public var description: String { "\(hostPort) \(definition.type.rawValue)" }

    /// The address and port as a Host header or URL spells them.
    var hostPort: String { Self.hostPort(address, port) }

    /// What the probe connects to, as a Host header spells it: the VIP through the tunnel.
    var destinationHostPort: String { Self.hostPort(tunnel?.vip ?? address, port) }

    private static func hostPort(_ address: String, _ port: UInt16) -> String {
        address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}

/// The way a probe takes through the tunnel: addressed to the VIP, its socket marked so
/// the LB's egress program (bpf/healthcheck.bpf.c) encapsulates it toward the one
/// backend the mark names, and bound to the balancer's interface, where that program is.
public struct ProbeTunnel: Sendable, Hashable {
    /// The VIP, an IPv4 or IPv6 literal.
    public let vip: String
    /// SO_MARK of the probe's socket.
    public let mark: UInt32
    /// SO_BINDTOIFINDEX of the probe's socket: the interface the tunnel leaves by.
    public let interfaceIndex: UInt32

    public init(vip: String, mark: UInt32, interfaceIndex: UInt32) {
        self.vip = vip
        self.mark = mark
        self.interfaceIndex = interfaceIndex
    }
}
