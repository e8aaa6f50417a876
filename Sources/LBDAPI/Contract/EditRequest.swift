/// The body of `POST /v1/edit`, one operation:
///
///     {"op":"add_vip","vip":"10.0.0.10:80/tcp","hash":"5tuple","udp_idle_timeout":"30s","force":false}
///     {"op":"remove_vip","vip":"10.0.0.10:80/tcp"}
///     {"op":"add_vip","vip":"10.0.0.10:443/udp","quic":true,"quic_server_id_length":2,"quic_connection_id_length":8}
///     {"op":"add_backend","vip":"10.0.0.10:80/tcp","address":"192.0.2.11","weight":100}
///     {"op":"add_backend","vip":"10.0.0.10:443/udp","address":"192.0.2.11","quic_server_id":1}
///     {"op":"remove_backend","vip":"10.0.0.10:80/tcp","address":"192.0.2.11"}
///     {"op":"set_weight","vip":"10.0.0.10:80/tcp","address":"192.0.2.11","weight":50}
///     {"op":"drain","vip":"10.0.0.10:80/tcp","address":"192.0.2.11"}   (also undrain)
///
/// Which keys each operation requires and takes is `Operation.keys`; `drain` and
/// `undrain` without `vip` act on every VIP that has the backend. Fields left nil are
/// not sent, so lbd applies its own defaults (hash, weight). Values are text as the
/// configuration file writes them; lbd reads them with its own parsers.
public struct EditRequest: Codable, Equatable, Sendable {
    /// An operation's name. Any text decodes, so that lbd can name an unknown one in its refusal.
    public struct Operation: RawRepresentable, Codable, Hashable, Sendable {
        public var rawValue: String

        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        public static let addVIP = Operation(rawValue: "add_vip")
        public static let removeVIP = Operation(rawValue: "remove_vip")
        public static let addBackend = Operation(rawValue: "add_backend")
        public static let removeBackend = Operation(rawValue: "remove_backend")
        public static let setWeight = Operation(rawValue: "set_weight")
        public static let drain = Operation(rawValue: "drain")
        public static let undrain = Operation(rawValue: "undrain")

        /// Every operation lbd performs, with the keys it requires and the ones it also takes.
        public static let keys: [Operation: (required: Set<CodingKeys>, optional: Set<CodingKeys>)] = [
            .addVIP: ([.vip], [.hash, .udpIdleTimeout, .force, .quic, .quicServerIDLength, .quicConnectionIDLength]),
            .removeVIP: ([.vip], []),
            .addBackend: ([.vip, .address], [.weight, .quicServerID]),
            .removeBackend: ([.vip, .address], []),
            .setWeight: ([.vip, .address, .weight], []),
            .drain: ([.address], [.vip]),
            .undrain: ([.address], [.vip]),
        ]
    }

    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case op, vip, hash, address, weight, force
        case udpIdleTimeout = "udp_idle_timeout"
        case quic
        case quicServerIDLength = "quic_server_id_length"
        case quicConnectionIDLength = "quic_connection_id_length"
        case quicServerID = "quic_server_id"
    }

    public var op: Operation
    public var vip: String?
    /// `5tuple` or `source`.
    public var hash: String?
    /// A duration as the configuration writes it (`30s`).
    public var udpIdleTimeout: String?
    public var address: String?
    public var weight: Int?
    /// add_vip on an address of lbd's host; sent only when true.
    public var force: Bool?
    /// add_vip: QUIC connection-ID routing (UDP VIPs), and its lengths (octets).
    public var quic: Bool?
    public var quicServerIDLength: Int?
    public var quicConnectionIDLength: Int?
    /// add_backend to a QUIC VIP: the server id the backend's connection IDs carry.
    public var quicServerID: Int?

    public init(op: Operation, vip: String? = nil, hash: String? = nil, udpIdleTimeout: String? = nil,
                address: String? = nil, weight: Int? = nil, force: Bool? = nil, quic: Bool? = nil,
                quicServerIDLength: Int? = nil, quicConnectionIDLength: Int? = nil, quicServerID: Int? = nil) {
        self.op = op
        self.vip = vip
        self.hash = hash
        self.udpIdleTimeout = udpIdleTimeout
        self.address = address
        self.weight = weight
        self.force = force
        self.quic = quic
        self.quicServerIDLength = quicServerIDLength
        self.quicConnectionIDLength = quicConnectionIDLength
        self.quicServerID = quicServerID
    }
}

extension EditRequest {
    /// `weight` is read as a number and must be whole: JSON has no integer type, and
    /// 1.5 must be refused as "not an integer", not as a body that is not JSON.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        op = try container.decode(Operation.self, forKey: .op)
        vip = try container.decodeIfPresent(String.self, forKey: .vip)
        address = try container.decodeIfPresent(String.self, forKey: .address)
        hash = try container.decodeIfPresent(String.self, forKey: .hash)
        udpIdleTimeout = try container.decodeIfPresent(String.self, forKey: .udpIdleTimeout)
        force = try container.decodeIfPresent(Bool.self, forKey: .force)
        quic = try container.decodeIfPresent(Bool.self, forKey: .quic)
        quicServerIDLength = try container.decodeIfPresent(Int.self, forKey: .quicServerIDLength)
        quicConnectionIDLength = try container.decodeIfPresent(Int.self, forKey: .quicConnectionIDLength)
        quicServerID = try container.decodeIfPresent(Int.self, forKey: .quicServerID)
        if let number = try container.decodeIfPresent(Double.self, forKey: .weight) {
            guard number.rounded() == number, let whole = Int(exactly: number) else {
                throw DecodingError.typeMismatch(Int.self, .init(codingPath: [CodingKeys.weight],
                                                                debugDescription: "\(number) is not an integer"))
            }
            weight = whole
        }
    }
}
