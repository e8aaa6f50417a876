import HealthCheck
import Foundation
import Maglev

/// One reason a desired state (or the limits it is checked against) cannot be served.
/// `description` is a single line that names the VIP, backend or key concerned.
public enum ValidationError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// A `limits:` value outside what the datapath can be sized to.
    case limitOutOfRange(key: String, value: Int, range: ClosedRange<Int>)
    /// `limits.ring_size` refused by the Maglev module (not prime, too large, below 100).
    case ringSize(MaglevError)
    /// max_vips × 2 × ring_size ring slots exceed the 2³² − 1 the datapath can address.
    case ringSlotsExceeded(maxVIPs: Int, ringSize: Int)
    case tooManyVIPs(count: Int, max: Int)
    /// Distinct backend addresses across all services.
    case tooManyBackends(count: Int, max: Int)
    /// Backends with a `quic_server_id`, over all QUIC services.
    case tooManyQUICServerIDs(count: Int, max: Int)
    case duplicateVIP(VIPKey)
    /// Unspecified, loopback, multicast or broadcast: nothing a client can reach.
    case unusableVIPAddress(VIPKey, reason: String)
    case unusableBackendAddress(VIPKey, IPAddress, reason: String)
    /// A backend that is itself a VIP address: its packets would come back to the balancer.
    case backendIsVIPAddress(VIPKey, IPAddress)
    case duplicateBackend(VIPKey, IPAddress)
    /// The datapath encapsulates IPv6 in IPv6 or IPv4 in IPv6, never IPv6 in IPv4.
    case ipv4BackendForIPv6VIP(VIPKey, IPAddress)
    /// The backend's family has no encapsulation source configured.
    case noEncapsulationSource(VIPKey, IPAddress)
    case weightOutOfRange(VIPKey, IPAddress, weight: Int)
    case udpTimeoutOnTCP(VIPKey)
    case udpTimeoutOutOfRange(VIPKey, Duration)
    /// A check without `port` on a port-0 VIP (the service's check when `backend` is nil):
    /// there is no service port to probe, so its backends could never come up.
    case checkWithoutPort(VIPKey, backend: IPAddress?)
    /// More backends than the ring size allows (Maglev's 100 slots per backend).
    case ringTooSmall(VIPKey, MaglevError)
    /// `quic: true` on a TCP VIP.
    case quicOnTCP(VIPKey)
    /// A server id length outside 1...4, or a connection ID length that cannot hold it
    /// after the first octet, or past QUIC's 20.
    case quicLengthsOutOfRange(VIPKey, serverIDLength: Int, connectionIDLength: Int)
    /// `quic_server_id` on a backend of a VIP without `quic: true`.
    case quicServerIDWithoutQUIC(VIPKey, IPAddress)
    /// A server id the VIP's `quic_server_id_length` octets cannot hold.
    case quicServerIDOutOfRange(VIPKey, IPAddress, id: Int, length: Int)
    /// Two backends of one VIP with the same server id: its connection IDs would name both.
    case duplicateQUICServerID(VIPKey, IPAddress, id: Int)

    public var description: String {
        switch self {
        case .limitOutOfRange(let key, let value, let range):
            return "limits.\(key) \(value) is out of range \(range.lowerBound)...\(range.upperBound)"
        case .ringSize(let error):
            return "limits.ring_size: \(Self.maglevText(error))"
        case .ringSlotsExceeded(let maxVIPs, let ringSize):
            return "limits: max_vips \(maxVIPs) × 2 rings × ring_size \(ringSize) exceeds the datapath's "
                + "\(UInt32.max) ring slots; lower max_vips or ring_size"
        case .tooManyVIPs(let count, let max):
            return "\(count) VIPs exceed limits.max_vips \(max)"
        case .tooManyBackends(let count, let max):
            return "\(count) distinct backend addresses exceed limits.max_backends \(max)"
        case .tooManyQUICServerIDs(let count, let max):
            return "\(count) quic_server_ids (backends of quic VIPs, each VIP's counted) exceed limits.max_backends \(max)"
        case .duplicateVIP(let vip):
            return "VIP \(vip) is defined more than once"
        case .unusableVIPAddress(let vip, let reason):
            return "VIP \(vip): \(vip.address) is \(reason); a VIP needs a unicast address"
        case .unusableBackendAddress(let vip, let address, let reason):
            return "VIP \(vip): backend \(address) is \(reason); a backend needs a unicast address"
        case .backendIsVIPAddress(let vip, let address):
            return "VIP \(vip): backend \(address) is a VIP address; its packets would loop back to the balancer"
        case .duplicateBackend(let vip, let address):
            return "VIP \(vip): backend \(address) is listed more than once"
        case .ipv4BackendForIPv6VIP(let vip, let address):
            return "VIP \(vip): backend \(address) is IPv4; an IPv6 VIP needs IPv6 backends (the datapath has no 6-in-4)"
        case .noEncapsulationSource(let vip, let address):
            let key = address.family == .v4 ? "encap_source_v4" : "encap_source_v6"
            return "VIP \(vip): backend \(address) is \(address.family) but \(key) is not configured"
        case .weightOutOfRange(let vip, let address, let weight):
            let range = BackendSpec.weightRange
            return "VIP \(vip): backend \(address) has weight \(weight); weights are \(range.lowerBound)...\(range.upperBound)"
        case .udpTimeoutOnTCP(let vip):
            return "VIP \(vip): udp_idle_timeout applies to UDP VIPs only"
        case .udpTimeoutOutOfRange(let vip, let timeout):
            let range = ServiceSpec.udpIdleTimeoutRange
            return "VIP \(vip): udp_idle_timeout \(DurationText.format(timeout)) must be whole seconds from "
                + "\(DurationText.format(range.lowerBound)) to \(DurationText.format(range.upperBound))"
        case .ringTooSmall(let vip, let error):
            return "VIP \(vip): \(Self.maglevText(error)); raise limits.ring_size"
        case .quicOnTCP(let vip):
            return "VIP \(vip): quic applies to UDP VIPs only"
        case .quicLengthsOutOfRange(let vip, let serverIDLength, let connectionIDLength):
            let range = QUICSettings.serverIDLengthRange
            return "VIP \(vip): quic_server_id_length \(serverIDLength) must be \(range.lowerBound)...\(range.upperBound) "
                + "and quic_connection_id_length \(connectionIDLength) from quic_server_id_length + 1 to "
                + "\(QUICSettings.maxConnectionIDLength)"
        case .quicServerIDWithoutQUIC(let vip, let address):
            return "VIP \(vip): backend \(address) has a quic_server_id but the VIP is not quic: true"
        case .quicServerIDOutOfRange(let vip, let address, let id, let length):
            let range = QUICSettings(serverIDLength: length).serverIDRange
            return "VIP \(vip): backend \(address) has quic_server_id \(id); \(length)-octet server ids are "
                + "\(range.lowerBound)...\(range.upperBound)"
        case .duplicateQUICServerID(let vip, let address, let id):
            return "VIP \(vip): backend \(address) has quic_server_id \(id), already another backend's"
        case .checkWithoutPort(let vip, let backend):
            let owner = backend.map { "backend \($0)'s health_check" } ?? "health_check"
            return "VIP \(vip): \(owner) names no port; a VIP of port 0 takes every port, so its checks need one "
                + "(port: 80)"
        }
    }

    public var errorDescription: String? { description }

    /// Maglev's message without its module prefix, which means nothing to an operator.
    private static func maglevText(_ error: MaglevError) -> String {
        let text = error.description
        return text.hasPrefix("maglev: ") ? String(text.dropFirst("maglev: ".count)) : text
    }
}

/// A state refused as a whole, with every reason (never only the first).
public struct ValidationFailure: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    public let errors: [ValidationError]

    /// One error per line.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
    public var errorDescription: String? { description }
}
