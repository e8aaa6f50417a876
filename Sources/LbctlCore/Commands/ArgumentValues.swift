import Balancer
import Foundation

/// Command-line values read and checked with Balancer's own parsers and validation,
/// the code lbd runs on the same values: a typo is refused before anything is sent, in
/// the words lbd would use. Only checks that hold whatever lbd's configuration are made
/// here (limits and the encapsulation families are lbd's to judge).
enum ArgumentValues {
    static func vip(_ text: String) throws(Failure) -> VIPKey {
        do {
            return try VIPKey(text)
        } catch {
            throw .usage(error.description)
        }
    }

    static func address(_ text: String) throws(Failure) -> IPAddress {
        do {
            return try IPAddress(text)
        } catch {
            throw .usage(error.description)
        }
    }

    static func hash(_ text: String) throws(Failure) -> HashMode {
        do {
            return try HashMode(text)
        } catch {
            throw .usage(error.description)
        }
    }

    /// A new service: its address must be usable, and a UDP idle timeout must be whole
    /// seconds in range, on a UDP VIP; QUIC settings on a UDP VIP, with lengths in range.
    static func checkNewService(_ vip: VIPKey, udpIdleTimeout: String?, quic: QUICSettings? = nil) throws(Failure) {
        var service = ServiceSpec(vip: vip, quic: quic)
        if let udpIdleTimeout {
            service.udpIdleTimeout = try duration(udpIdleTimeout, of: vip)
        }
        try check(service)
    }

    /// `--quic` and its lengths: nil without `--quic`, where a length is refused.
    static func quic(_ enabled: Bool, serverIDLength: Int?, connectionIDLength: Int?) throws(Failure) -> QUICSettings? {
        guard enabled else {
            if serverIDLength != nil || connectionIDLength != nil {
                throw .usage("--quic-server-id-length and --quic-connection-id-length need --quic")
            }
            return nil
        }
        return QUICSettings(serverIDLength: serverIDLength ?? QUICSettings.defaultServerIDLength,
                            connectionIDLength: connectionIDLength ?? QUICSettings.defaultConnectionIDLength)
    }

    /// A backend of `vip` as `weight` would make it: a unicast address, not the VIP's
    /// own, of a family the VIP can send to, with a weight in range.
    static func checkBackend(_ address: IPAddress, weight: Int, of vip: VIPKey) throws(Failure) {
        try check(ServiceSpec(vip: vip, backends: [BackendSpec(address: address, weight: weight)]))
    }

    /// `service` alone, under limits that any lbd configuration reaches: only the
    /// service's own problems can show.
    private static func check(_ service: ServiceSpec) throws(Failure) {
        do {
            _ = try DesiredState(validating: [service], limits: Limits())
        } catch {
            throw .usage(error.errors.map(\.description).joined(separator: "; "))
        }
    }

    /// Balancer reads durations (`30s`, `500ms`) as part of a service; decoding one is
    /// the public way to its parser.
    private static func duration(_ text: String, of vip: VIPKey) throws(Failure) -> Duration? {
        let fields = ["vip": vip.description, "udp_idle_timeout": text]
        do {
            let json = try JSONEncoder().encode(fields)
            return try JSONDecoder().decode(ServiceSpec.self, from: json).udpIdleTimeout
        } catch DecodingError.dataCorrupted(let context) {
            throw .usage(context.debugDescription)
        } catch {
            throw .usage("bad duration '\(text)': \(error)")
        }
    }
}
