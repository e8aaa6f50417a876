import Foundation
import HealthCheck
import Yams

/// The `services:` list, shared by the configuration file (the seed) and the services
/// file of `lbctl apply -f` / `lbctl export`:
///
/// ```yaml
/// services:
///   - vip: 10.0.0.10:80/tcp          # address:port/proto; port 0 = every port
///     hash: 5tuple                    # 5tuple (default) | source
///     udp_idle_timeout: 30s           # UDP VIPs only; default: the global udp_idle_timeout
///     on_backend_down: move           # move (default) | keep: established flows of a down backend
///     quic: false                     # UDP VIPs: route QUIC short headers by connection ID
///     quic_server_id_length: 2        # quic only: octets of the server id (1...4), default 2
///     quic_connection_id_length: 8    # quic only: the backends' connection ID length, default 8
///     backends:
///       - address: 192.0.2.11
///         weight: 100                 # 0...65535, default 100
///         drained: false              # default false
///         quic_server_id: 1           # quic VIPs: the id its connection IDs carry
///         health_check: { type: tcp, port: 8080 }   # this backend's own check
///     health_check:                   # default: not checked (always up)
///       type: http                    # none | tcp | http | https
///       path: /healthz
///       interval: 2s
///       min_up: 1                     # quorum; below it the service is degraded
///   - vip: "[2001:db8::10]:443/tcp"   # IPv6 VIPs must be quoted ([ starts a YAML list)
///     backends: []
/// ```
enum ServicesYAML {
    static let serviceKeys = ["vip", "hash", "udp_idle_timeout", "on_backend_down", "quic", "quic_server_id_length",
                              "quic_connection_id_length", "backends", "health_check"]
    static let backendKeys = ["address", "weight", "drained", "health_check", "quic_server_id"]

    /// Where each service and backend came from, to place validation errors.
    struct Marks {
        var list: Mark?
        var services: [VIPKey: [ServiceMarks]] = [:]
        var limits: [String: Mark] = [:]
        var limitsSection: Mark?

        /// The position of the node `error` is about: the last definition for duplicates,
        /// the first otherwise.
        func mark(for error: ValidationError) -> Mark? {
            switch error {
            case .limitOutOfRange(let key, _, _):
                return limits[key] ?? limitsSection
            case .ringSize, .ringSlotsExceeded:
                return limits["ring_size"] ?? limitsSection
            case .tooManyVIPs, .tooManyBackends, .tooManyQUICServerIDs:
                return list
            case .duplicateVIP(let vip):
                return services[vip]?.last?.vip
            case .unusableVIPAddress(let vip, _), .ringTooSmall(let vip, _):
                return services[vip]?.first?.vip
            case .udpTimeoutOnTCP(let vip), .udpTimeoutOutOfRange(let vip, _):
                return services[vip]?.first.flatMap { $0.udpIdleTimeout ?? $0.vip }
            case .duplicateBackend(let vip, let address):
                return services[vip]?.first?.backends[address]?.last?.address
            case .weightOutOfRange(let vip, let address, _):
                // The entry with a weight written (there may be duplicates of the address).
                let entries = services[vip]?.first?.backends[address] ?? []
                return entries.first(where: { $0.weight != nil })?.weight ?? entries.first?.address
            case .quicOnTCP(let vip), .quicLengthsOutOfRange(let vip, _, _):
                return services[vip]?.first.flatMap { $0.quic ?? $0.vip }
            case .quicServerIDWithoutQUIC(let vip, let address), .quicServerIDOutOfRange(let vip, let address, _, _),
                 .duplicateQUICServerID(let vip, let address, _):
                let entries = services[vip]?.first?.backends[address] ?? []
                return entries.first(where: { $0.quicServerID != nil })?.quicServerID ?? entries.first?.address
            case .checkWithoutPort(let vip, nil):
                return services[vip]?.first.flatMap { $0.healthCheck ?? $0.vip }
            case .checkWithoutPort(let vip, let address?):
                let entries = services[vip]?.first?.backends[address] ?? []
                return entries.first(where: { $0.healthCheck != nil })?.healthCheck ?? entries.first?.address
            case .unusableBackendAddress(let vip, let address, _), .backendIsVIPAddress(let vip, let address),
                 .ipv4BackendForIPv6VIP(let vip, let address), .noEncapsulationSource(let vip, let address):
                return services[vip]?.first?.backends[address]?.first?.address
            }
        }
    }

    struct ServiceMarks {
        var vip: Mark?
        var udpIdleTimeout: Mark?
        var healthCheck: Mark?
        var quic: Mark?
        var backends: [IPAddress: [BackendMarks]] = [:]
    }

    struct BackendMarks {
        var address: Mark?
        var weight: Mark?
        var healthCheck: Mark?
        var quicServerID: Mark?
    }

    /// The services of the `services:` list `node`; entries with errors are reported and left out.
    static func read(_ node: Node, into reader: inout YAMLReader, marks: inout Marks) -> [ServiceSpec] {
        marks.list = node.mark
        guard let entries = reader.sequence(node, name: "services") else { return [] }
        return entries.enumerated().compactMap { index, entry in
            readService(entry, name: "services[\(index)]", into: &reader, marks: &marks)
        }
    }

    private static func readService(_ node: Node, name: String, into reader: inout YAMLReader,
                                    marks: inout Marks) -> ServiceSpec? {
        guard let fields = reader.mapping(node, name: name, allowed: serviceKeys) else { return nil }
        guard let vipNode = fields["vip"] else {
            reader.report("\(name): 'vip' is required", at: node)
            return nil
        }
        var complete = true
        let vip = reader.value(vipNode, key: "vip", VIPKey.init)
        var service = ServiceMarks(vip: vipNode.mark, udpIdleTimeout: fields["udp_idle_timeout"]?.mark,
                                   healthCheck: fields["health_check"]?.mark, quic: fields["quic"]?.mark)
        let hash = fields["hash"].map { reader.value($0, key: "hash", HashMode.init) } ?? .fiveTuple
        let timeout = fields["udp_idle_timeout"].map { reader.value($0, key: "udp_idle_timeout", DurationText.parse) }
        let onDown = fields["on_backend_down"].map { reader.value($0, key: "on_backend_down", BackendDownPolicy.init) }
            ?? .move
        let check = fields["health_check"].map { reader.healthCheck($0, name: "\(name).health_check", ServiceHealthCheck.self) }
        let quic = readQUIC(fields, name: name, into: &reader)
        if hash == nil || onDown == nil || timeout == .some(nil) || check == .some(nil) || quic == nil { complete = false }
        var backends: [BackendSpec] = []
        if let list = fields["backends"], let entries = reader.sequence(list, name: "\(name).backends") {
            for (index, entry) in entries.enumerated() {
                let backendName = "\(name).backends[\(index)]"
                guard let (backend, backendMarks) = readBackend(entry, name: backendName, into: &reader) else {
                    complete = false
                    continue
                }
                backends.append(backend)
                service.backends[backend.address, default: []].append(backendMarks)
            }
        } else if fields["backends"] != nil {
            complete = false
        }
        guard let vip, let hash, let onDown, complete else { return nil }
        marks.services[vip, default: []].append(service)
        return ServiceSpec(vip: vip, hash: hash, udpIdleTimeout: timeout ?? nil, onBackendDown: onDown, quic: quic ?? nil,
                           backends: backends, healthCheck: check ?? nil)
    }

    /// `quic` and its lengths: .some(nil) for a VIP that is not QUIC, nil after an error
    /// (a length without `quic: true` included).
    private static func readQUIC(_ fields: Fields, name: String,
                                 into reader: inout YAMLReader) -> QUICSettings?? {
        let enabled = fields["quic"].map { reader.boolean($0, key: "quic") } ?? false
        let serverIDLength = fields["quic_server_id_length"].map { reader.integer($0, key: "quic_server_id_length") }
        let connectionIDLength = fields["quic_connection_id_length"].map {
            reader.integer($0, key: "quic_connection_id_length")
        }
        guard let enabled, serverIDLength != .some(nil), connectionIDLength != .some(nil) else { return nil }
        guard enabled else {
            for key in ["quic_server_id_length", "quic_connection_id_length"] {
                if let node = fields[key] { reader.report("\(name): \(key) needs quic: true", at: node) }
            }
            let notQUIC: QUICSettings?? = .some(nil)
            return serverIDLength == nil && connectionIDLength == nil ? notQUIC : nil
        }
        return QUICSettings(serverIDLength: serverIDLength.flatMap { $0 } ?? QUICSettings.defaultServerIDLength,
                            connectionIDLength: connectionIDLength.flatMap { $0 } ?? QUICSettings.defaultConnectionIDLength)
    }

    private static func readBackend(_ node: Node, name: String,
                                    into reader: inout YAMLReader) -> (BackendSpec, BackendMarks)? {
        guard let fields = reader.mapping(node, name: name, allowed: backendKeys) else { return nil }
        guard let addressNode = fields["address"] else {
            reader.report("\(name): 'address' is required", at: node)
            return nil
        }
        let address = reader.value(addressNode, key: "address", IPAddress.init)
        let weight = fields["weight"].map { reader.integer($0, key: "weight") } ?? BackendSpec.defaultWeight
        let drained = fields["drained"].map { reader.boolean($0, key: "drained") } ?? false
        let check = fields["health_check"].map {
            reader.healthCheck($0, name: "\(name).health_check", HealthCheckDefinition.self)
        }
        let serverID = fields["quic_server_id"].map { reader.integer($0, key: "quic_server_id") }
        guard let address, let weight, let drained, check != .some(nil), serverID != .some(nil) else { return nil }
        return (BackendSpec(address: address, weight: weight, drained: drained, healthCheck: check ?? nil,
                            quicServerID: serverID ?? nil),
                BackendMarks(address: addressNode.mark, weight: fields["weight"]?.mark,
                             healthCheck: fields["health_check"]?.mark, quicServerID: fields["quic_server_id"]?.mark))
    }

    /// Validates `services` under `limits`, reporting each problem at its node.
    static func validate(_ services: [ServiceSpec], limits: Limits, marks: Marks,
                         into reader: inout YAMLReader) -> DesiredState? {
        let errors = Validation.validate(services, limits: limits)
        for error in errors {
            reader.report(error.description, at: marks.mark(for: error))
        }
        guard errors.isEmpty else { return nil }
        return DesiredState(validated: Dictionary(services.map { ($0.vip, $0) }, uniquingKeysWith: { first, _ in first }),
                            limits: limits)
    }

    // MARK: Writing

    /// `state` as a services file that `DesiredState(yaml:limits:)` reads back to the same
    /// state: services in VIP order, every key written (defaults included) so an export
    /// shows the whole truth, IPv6 values quoted.
    static func render(_ state: DesiredState) -> String {
        var lines = ["# lbd services: lbctl apply -f FILE", "services:"]
        if state.services.isEmpty { lines[1] += " []" }
        for service in state.sortedServices {
            lines.append("  - vip: \(quoted(service.vip.description, if: service.vip.address.family == .v6))")
            lines.append("    hash: \(service.hash.rawValue)")
            if let timeout = service.udpIdleTimeout {
                lines.append("    udp_idle_timeout: \(DurationText.format(timeout))")
            }
            lines.append("    on_backend_down: \(service.onBackendDown.rawValue)")
            if let quic = service.quic {
                lines.append("    quic: true")
                lines.append("    quic_server_id_length: \(quic.serverIDLength)")
                lines.append("    quic_connection_id_length: \(quic.connectionIDLength)")
            }
            lines.append("    backends:" + (service.backends.isEmpty ? " []" : ""))
            for backend in service.backends {
                lines.append("      - address: \(quoted(backend.address.description, if: backend.address.family == .v6))")
                lines.append("        weight: \(backend.weight)")
                lines.append("        drained: \(backend.drained)")
                if let serverID = backend.quicServerID { lines.append("        quic_server_id: \(serverID)") }
                if let check = backend.healthCheck { lines.append("        health_check: \(flowMapping(check))") }
            }
            if let check = service.healthCheck { lines.append("    health_check: \(flowMapping(check))") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A health check as one flow mapping, every field written (defaults included): the
    /// JSON its encoder gives, which is valid YAML.
    private static func flowMapping(_ check: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, numbers and booleans: encoding cannot fail.
        let json = (try? encoder.encode(check)) ?? Data("{}".utf8)
        return String(decoding: json, as: UTF8.self)
    }

    /// Addresses, VIPs and the like never contain quotes or backslashes.
    private static func quoted(_ text: String, if condition: Bool) -> String {
        condition ? "\"\(text)\"" : text
    }
}

extension DesiredState {
    /// Reads a services file (a mapping with the single key `services:`) and validates it
    /// under `limits`. An empty file is an error rather than "no services": removing
    /// every VIP takes an explicit `services: []`.
    public init(yaml: String, limits: Limits) throws(ConfigErrors) {
        var reader = YAMLReader()
        var marks = ServicesYAML.Marks()
        var state: DesiredState?
        if let root = reader.compose(yaml) {
            if let fields = reader.mapping(root, name: "services file", allowed: ["services"]) {
                if let list = fields["services"] {
                    let services = ServicesYAML.read(list, into: &reader, marks: &marks)
                    state = ServicesYAML.validate(services, limits: limits, marks: marks, into: &reader)
                } else {
                    reader.report("'services' is required (write 'services: []' to remove every VIP)", at: root)
                }
            }
        } else if reader.errors.isEmpty {
            reader.report("the file is empty; write 'services: []' to remove every VIP", at: nil)
        }
        guard let state, reader.errors.isEmpty else { throw reader.failure }
        self = state
    }

    /// The services file of this state (`lbctl export`); `init(yaml:limits:)` reads it back.
    public func yaml() -> String {
        ServicesYAML.render(self)
    }
}
