import HealthCheck
import Maglev

/// The checks every desired state passes before it is accepted, whatever its source
/// (configuration, state file, API edit). They are exactly the conditions under which
/// the reconciler can install the state, so an accepted state never fails half-way
/// for a reason known in advance.
enum Validation {
    /// Every problem of `services` under `limits`, in a stable order: the limits, the
    /// totals, then each service in the order given.
    static func validate(_ services: [ServiceSpec], limits: Limits) -> [ValidationError] {
        let backendCount = Set(services.flatMap { $0.backends.map(\.address) }).count
        var errors = limitsAndTotals(limits, vipCount: services.count, backendCount: backendCount,
                                     quicServerCount: quicServerCount(services))
        let vipAddresses = Set(services.map(\.vip.address))
        let ringSizeIsValid = limits.ringSizeError == nil
        var seen = Set<VIPKey>()
        for service in services {
            if !seen.insert(service.vip).inserted {
                errors.append(.duplicateVIP(service.vip))
            }
            errors += serviceErrors(service, limits: limits, vipAddresses: vipAddresses,
                                    checkRing: ringSizeIsValid)
        }
        return errors
    }

    /// The problems of a state that differs from one valid under `limits` only in the
    /// backends of `service`: what `validate` would find, found from the totals and that
    /// service alone, since no other service's checks depend on another's backends.
    /// `quicServerCount`: the total over all services when the change may have raised it
    /// (a QUIC service's backends), nil when it cannot have.
    static func validate(changed service: ServiceSpec, vipCount: Int, vipAddresses: Set<IPAddress>, backendCount: Int,
                         quicServerCount: Int?, limits: Limits) -> [ValidationError] {
        limitsAndTotals(limits, vipCount: vipCount, backendCount: backendCount, quicServerCount: quicServerCount ?? 0)
            + serviceErrors(service, limits: limits, vipAddresses: vipAddresses, checkRing: limits.ringSizeError == nil)
    }

    /// Server ids of QUIC services, counted once per (VIP, backend): the quic_servers map's entries.
    static func quicServerCount<Services: Sequence<ServiceSpec>>(_ services: Services) -> Int {
        services.reduce(0) { total, service in
            service.quic == nil ? total : total + service.backends.count { $0.quicServerID != nil }
        }
    }

    private static func limitsAndTotals(_ limits: Limits, vipCount: Int, backendCount: Int,
                                        quicServerCount: Int) -> [ValidationError] {
        var errors = limits.validate()
        // Totals only against limits that are valid themselves (already reported otherwise).
        if Limits.maxVIPsRange.contains(limits.maxVIPs), vipCount > limits.maxVIPs {
            errors.append(.tooManyVIPs(count: vipCount, max: limits.maxVIPs))
        }
        if Limits.maxBackendsRange.contains(limits.maxBackends), backendCount > limits.maxBackends {
            errors.append(.tooManyBackends(count: backendCount, max: limits.maxBackends))
        }
        // quic_servers has the backends map's size: max_backends ids, and as many again
        // while the reconciler writes a VIP's new ids before it deletes the old.
        if Limits.maxBackendsRange.contains(limits.maxBackends), quicServerCount > limits.maxBackends {
            errors.append(.tooManyQUICServerIDs(count: quicServerCount, max: limits.maxBackends))
        }
        return errors
    }

    private static func serviceErrors(_ service: ServiceSpec, limits: Limits, vipAddresses: Set<IPAddress>,
                                      checkRing: Bool) -> [ValidationError] {
        let vip = service.vip
        var errors: [ValidationError] = []
        if let reason = unusableReason(vip.address) {
            errors.append(.unusableVIPAddress(vip, reason: reason))
        }
        if let timeout = service.udpIdleTimeout {
            if vip.proto != .udp {
                errors.append(.udpTimeoutOnTCP(vip))
            } else if !ServiceSpec.udpIdleTimeoutRange.contains(timeout) || timeout.components.attoseconds != 0 {
                errors.append(.udpTimeoutOutOfRange(vip, timeout))
            }
        }
        if vip.port == 0, let check = service.healthCheck?.check, Self.lacksPort(check) {
            errors.append(.checkWithoutPort(vip, backend: nil))
        }
        errors += quicErrors(service)
        var seen = Set<IPAddress>()
        for backend in service.backends {
            let address = backend.address
            if !seen.insert(address).inserted {
                // The address's own problems were reported with its first entry.
                errors.append(.duplicateBackend(vip, address))
            } else if let reason = unusableReason(address) {
                errors.append(.unusableBackendAddress(vip, address, reason: reason))
            } else if vipAddresses.contains(address) {
                errors.append(.backendIsVIPAddress(vip, address))
            } else if vip.address.family == .v6, address.family == .v4 {
                errors.append(.ipv4BackendForIPv6VIP(vip, address))
            } else if !limits.backendFamilies.contains(address.family) {
                errors.append(.noEncapsulationSource(vip, address))
            }
            if !BackendSpec.weightRange.contains(backend.weight) {
                errors.append(.weightOutOfRange(vip, address, weight: backend.weight))
            }
            if vip.port == 0, let check = backend.healthCheck, Self.lacksPort(check) {
                errors.append(.checkWithoutPort(vip, backend: address))
            }
        }
        let minimum = seen.count * MaglevTable.minimumSlotsPerBackend
        if checkRing, limits.ringSize < minimum {
            errors.append(.ringTooSmall(vip, .tableSizeTooSmall(size: limits.ringSize, backendCount: seen.count,
                                                                minimum: minimum)))
        }
        return errors
    }

    /// `quic` on a UDP VIP, with lengths the datapath routes on; server ids on quic VIPs
    /// only, unique in the VIP and held by the configured length.
    private static func quicErrors(_ service: ServiceSpec) -> [ValidationError] {
        let vip = service.vip
        var errors: [ValidationError] = []
        if let quic = service.quic {
            if vip.proto != .udp { errors.append(.quicOnTCP(vip)) }
            if !quic.lengthsAreValid {
                errors.append(.quicLengthsOutOfRange(vip, serverIDLength: quic.serverIDLength,
                                                     connectionIDLength: quic.connectionIDLength))
            }
        }
        var owners: [Int: IPAddress] = [:]
        for backend in service.backends {
            guard let id = backend.quicServerID else { continue }
            guard let quic = service.quic else {
                errors.append(.quicServerIDWithoutQUIC(vip, backend.address))
                continue
            }
            if quic.lengthsAreValid, !quic.serverIDRange.contains(id) {
                errors.append(.quicServerIDOutOfRange(vip, backend.address, id: id, length: quic.serverIDLength))
            } else if let owner = owners[id], owner != backend.address {
                errors.append(.duplicateQUICServerID(vip, backend.address, id: id))
            } else {
                owners[id] = backend.address
            }
        }
        return errors
    }

    /// A check that would probe the service's port, which a port-0 VIP does not have:
    /// its backends could never come up.
    private static func lacksPort(_ check: HealthCheckDefinition) -> Bool {
        check.type != .none && check.port == nil
    }

    /// Why no client could reach `address` (or no packet be sent to it); nil when it is
    /// a unicast address.
    static func unusableReason(_ address: IPAddress) -> String? {
        if address.isUnspecified { return "the unspecified address" }
        if address.isLoopback { return "a loopback address" }
        if address.isMulticast { return "a multicast address" }
        if address.isBroadcast { return "the broadcast address" }
        return nil
    }
}
