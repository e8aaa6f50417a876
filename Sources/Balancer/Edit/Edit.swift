import Foundation

/// One change the API makes to the desired state. `DesiredState.applying(_:limits:)`
/// applies it all or not at all: the result is validated as a whole.
public enum Edit: Equatable, Sendable {
    /// A new service (with or without backends); its VIP must not exist yet, unless it
    /// is exactly this service already (a retried request: nothing changes).
    case addVIP(ServiceSpec)
    case removeVIP(VIPKey)
    /// A backend the service does not have yet, or has exactly so already (a retried
    /// request: nothing changes).
    case addBackend(VIPKey, BackendSpec)
    case removeBackend(VIPKey, IPAddress)
    case setWeight(VIPKey, IPAddress, weight: Int)
    /// Stop new flows to the backend in the VIP's service, or with `vip` nil in every
    /// service that has it (a host going into maintenance). Established flows continue.
    case drain(IPAddress, vip: VIPKey?)
    /// Undo `drain`, same scope.
    case undrain(IPAddress, vip: VIPKey?)
    /// Declarative apply (`lbctl apply -f`): exactly these services afterwards.
    case replaceServices([ServiceSpec])
}

/// Why an edit was refused; the state is unchanged.
public enum EditError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    case unknownVIP(VIPKey)
    case vipExists(VIPKey)
    case backendExists(VIPKey, IPAddress)
    case unknownBackend(VIPKey, IPAddress)
    /// `drain` / `undrain` of an address no service has.
    case unknownAddress(IPAddress)
    /// The edited state does not validate; every reason.
    case invalid([ValidationError])

    public var description: String {
        switch self {
        case .unknownVIP(let vip): "no VIP \(vip)"
        case .vipExists(let vip): "VIP \(vip) already exists"
        case .backendExists(let vip, let address): "VIP \(vip) already has backend \(address)"
        case .unknownBackend(let vip, let address): "VIP \(vip) has no backend \(address)"
        case .unknownAddress(let address): "\(address) is not a backend of any VIP"
        case .invalid(let errors): errors.map(\.description).joined(separator: "\n")
        }
    }

    public var errorDescription: String? { description }
}

extension DesiredState {
    /// The state after `edit`, validated as a whole under `limits`; throws and leaves
    /// `self` as it was when the edit does not apply or the result is invalid.
    /// Draining a drained backend, adding a VIP or a backend exactly as it is (and the
    /// like) is accepted and changes nothing, so retried requests are harmless; adding one
    /// that exists with other settings is refused.
    public func applying(_ edit: Edit, limits: Limits) throws(EditError) -> DesiredState {
        var services = services
        // The one service whose backends changed, when no other service and no VIP did,
        // and the distinct backend count after the edit: such an edit (the common kind)
        // is validated by checking that service alone.
        var backendsChanged: (vip: VIPKey, backendCount: Int)?
        switch edit {
        case .addVIP(let service):
            if let existing = services[service.vip] {
                guard existing == service else { throw .vipExists(service.vip) }
                return self
            }
            services[service.vip] = service
        case .removeVIP(let vip):
            guard services.removeValue(forKey: vip) != nil else { throw .unknownVIP(vip) }
        case .addBackend(let vip, let backend):
            guard var service = services[vip] else { throw .unknownVIP(vip) }
            if let existing = service.backend(backend.address) {
                guard existing == backend else { throw .backendExists(vip, backend.address) }
                return self
            }
            service.backends.append(backend)
            services[vip] = service
            backendsChanged = (vip, backendAddressCount + (Self.hasBackend(backend.address, in: self.services) ? 0 : 1))
        case .removeBackend(let vip, let address):
            try update(&services, vip, address) { $0 = nil }
            backendsChanged = (vip, backendAddressCount - (Self.hasBackend(address, in: services) ? 0 : 1))
        case .setWeight(let vip, let address, let weight):
            try update(&services, vip, address) { $0?.weight = weight }
            backendsChanged = (vip, backendAddressCount)
        case .drain(let address, let vip):
            try setDrained(true, address, vip, in: &services)
            backendsChanged = vip.map { ($0, backendAddressCount) }
        case .undrain(let address, let vip):
            try setDrained(false, address, vip, in: &services)
            backendsChanged = vip.map { ($0, backendAddressCount) }
        case .replaceServices(let list):
            // Validated as a list: a duplicate VIP is an error, not "the last one wins".
            do {
                return try DesiredState(validating: list, limits: limits)
            } catch {
                throw .invalid(error.errors)
            }
        }
        let errors: [ValidationError]
        if let (vip, backendCount) = backendsChanged, validatedUnder == limits, let service = services[vip] {
            errors = Validation.validate(changed: service, vipCount: services.count,
                                         vipAddresses: Set(services.keys.map(\.address)),
                                         backendCount: backendCount,
                                         quicServerCount: service.quic == nil ? nil : Validation.quicServerCount(services.values),
                                         limits: limits)
            guard errors.isEmpty else { throw .invalid(errors) }
            return DesiredState(validated: services, limits: limits, backendAddressCount: backendCount)
        }
        errors = Validation.validate(services.values.sorted { $0.vip < $1.vip }, limits: limits)
        guard errors.isEmpty else { throw .invalid(errors) }
        return DesiredState(validated: services, limits: limits)
    }

    /// Whether any of `services` has a backend at `address` (a scan: cheaper than hashing).
    private static func hasBackend(_ address: IPAddress, in services: [VIPKey: ServiceSpec]) -> Bool {
        services.values.contains { service in service.backends.contains { $0.address == address } }
    }

    /// Applies `change` to the backend `address` of `vip` (setting it nil removes it).
    private func update(_ services: inout [VIPKey: ServiceSpec], _ vip: VIPKey, _ address: IPAddress,
                        _ change: (inout BackendSpec?) -> Void) throws(EditError) {
        guard var service = services[vip] else { throw .unknownVIP(vip) }
        guard let position = service.backends.firstIndex(where: { $0.address == address }) else {
            throw .unknownBackend(vip, address)
        }
        var backend: BackendSpec? = service.backends[position]
        change(&backend)
        if let backend {
            service.backends[position] = backend
        } else {
            service.backends.remove(at: position)
        }
        services[vip] = service
    }

    private func setDrained(_ drained: Bool, _ address: IPAddress, _ vip: VIPKey?,
                            in services: inout [VIPKey: ServiceSpec]) throws(EditError) {
        if let vip {
            try update(&services, vip, address) { $0?.drained = drained }
            return
        }
        let holders = services.values.filter { $0.backend(address) != nil }.map(\.vip)
        guard !holders.isEmpty else { throw .unknownAddress(address) }
        for holder in holders {
            try update(&services, holder, address) { $0?.drained = drained }
        }
    }
}
