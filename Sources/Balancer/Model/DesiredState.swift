import Foundation

/// Every service the node should serve: what the operator asked for, before health.
///
/// Only validated states are built by this module (`init(validating:limits:)`, edits,
/// the configuration and state files), so a `DesiredState` in hand is one the datapath
/// can take. Persisted as JSON by `StateStore`, in the versioned format of `jsonData()`.
public struct DesiredState: Equatable, Sendable {
    /// The state file format written by `jsonData()`; a file of another version is refused.
    public static let formatVersion = 1

    public private(set) var services: [VIPKey: ServiceSpec]
    /// Distinct backend addresses over all services (limited by `max_backends`) and the
    /// limits the state was validated under: with them, an edit of one service's backends
    /// is validated by checking that service and the totals, not every backend again.
    let backendAddressCount: Int
    let validatedUnder: Limits?

    /// No services.
    public init() {
        services = [:]
        backendAddressCount = 0
        validatedUnder = nil
    }

    /// Services validated under `limits` by the caller.
    init(validated services: [VIPKey: ServiceSpec], limits: Limits, backendAddressCount: Int? = nil) {
        self.services = services
        self.backendAddressCount = backendAddressCount
            ?? Set(services.values.flatMap { $0.backends.map(\.address) }).count
        validatedUnder = limits
    }

    /// States are equal when their services are.
    public static func == (lhs: DesiredState, rhs: DesiredState) -> Bool {
        lhs.services == rhs.services
    }

    /// The state of `services`, if it passes every check of `validate(_:limits:)`;
    /// otherwise every problem found.
    public init(validating services: [ServiceSpec], limits: Limits) throws(ValidationFailure) {
        let errors = Validation.validate(services, limits: limits)
        guard errors.isEmpty else { throw ValidationFailure(errors: errors) }
        self.init(validated: Dictionary(services.map { ($0.vip, $0) }, uniquingKeysWith: { first, _ in first }),
                  limits: limits)
    }

    /// The services in VIP order: how listings, exports and the state file show them.
    public var sortedServices: [ServiceSpec] {
        services.values.sorted { $0.vip < $1.vip }
    }

    /// Every distinct backend address, in identity order.
    public var backendAddresses: [IPAddress] {
        Set(services.values.flatMap { $0.backends.map(\.address) }).sorted()
    }
}

// MARK: JSON

extension DesiredState {
    private struct File: Decodable {
        var version: Int
        var services: [ServiceSpec]
    }

    /// The state as JSON: `{"services": [...], "version": 1}`, services in VIP order,
    /// keys sorted, so equal states give identical bytes (those of `JSONEncoder` with
    /// `.prettyPrinted, .sortedKeys, .withoutEscapingSlashes`).
    ///
    /// Built from one encoded fragment per service, taken from `cache` when the service
    /// is unchanged since the cache's last use: an edit then encodes one service, not
    /// ten thousand backends.
    public func jsonData(reusing cache: EncodedServices = EncodedServices()) -> Data {
        Self.json(cache.encode(sortedServices).fragments)
    }

    /// The state's version as the API shows it: 16 hex digits digesting each service's
    /// JSON in `jsonData()`, in order, so equal states have equal versions, across restarts
    /// and nodes. A plan made against a version still holds while the version is the same
    /// (`lbctl apply`'s guard). With `cache`, only services changed since its last use are
    /// encoded and digested again.
    public func version(reusing cache: EncodedServices = EncodedServices()) -> String {
        Self.version(cache.encode(sortedServices).digests)
    }

    /// `jsonData()` and `version()` from one encoding of the services.
    func jsonDataAndVersion(reusing cache: EncodedServices) -> (json: Data, version: String) {
        let (fragments, digests) = cache.encode(sortedServices)
        return (Self.json(fragments), Self.version(digests))
    }

    private static func json(_ fragments: [[UInt8]]) -> Data {
        var data = Data("{\n  \"services\" : [\n".utf8)
        data.reserveCapacity(fragments.reduce(64) { $0 + $1.count + 2 })
        for (position, fragment) in fragments.enumerated() {
            if position > 0 { data.append(contentsOf: ",\n".utf8) }
            data.append(contentsOf: fragment)
        }
        data.append(contentsOf: "\n  ],\n  \"version\" : \(formatVersion)\n}".utf8)
        return data
    }

    private static func version(_ digests: [UInt64]) -> String {
        let bytes = digests.flatMap { digest in withUnsafeBytes(of: digest.littleEndian, Array.init) }
        let hex = String(EncodedServices.digestHash.hash(bytes), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Reads `jsonData()` output back and validates it against `limits`. The error says
    /// where the JSON is wrong (`services[2].backends[0].address: …`), which version it
    /// has if not ours, or every validation problem.
    public init(json: Data, limits: Limits) throws(StateFileError) {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: json)
        } catch let error as DecodingError {
            throw .malformed(error.summary)
        } catch {
            throw .malformed(String(describing: error))
        }
        guard file.version == Self.formatVersion else {
            throw .unsupportedVersion(file.version, supported: Self.formatVersion)
        }
        do {
            self = try DesiredState(validating: file.services, limits: limits)
        } catch {
            throw .invalid(error.errors)
        }
    }
}

/// Why a state file's content was refused (see `StateStoreError` for the file itself).
public enum StateFileError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// Not JSON, truncated, or a value of the wrong type or text.
    case malformed(String)
    /// Written by another lbd version's format.
    case unsupportedVersion(Int, supported: Int)
    /// Well-formed, but not acceptable under the current limits.
    case invalid([ValidationError])

    public var description: String {
        switch self {
        case .malformed(let detail):
            return "malformed state: \(detail)"
        case .unsupportedVersion(let version, let supported):
            return "state format version \(version) is not supported (this lbd reads version \(supported))"
        case .invalid(let errors):
            return "state does not validate: " + errors.map(\.description).joined(separator: "; ")
        }
    }

    public var errorDescription: String? { description }
}

extension DecodingError {
    /// `path: problem` on one line, the path written `services[2].backends[0].weight`.
    var summary: String {
        let (context, problem): (Context, String) = switch self {
        case .typeMismatch(let type, let context): (context, "expected \(type)")
        case .valueNotFound(let type, let context): (context, "expected \(type), found null")
        case .keyNotFound(let key, let context): (context, "missing key '\(key.stringValue)'")
        case .dataCorrupted(let context): (context, context.debugDescription)
        @unknown default: (Context(codingPath: [], debugDescription: ""), String(describing: self))
        }
        let path = context.codingPath.reduce("") { path, key in
            if let index = key.intValue { return path + "[\(index)]" }
            return path.isEmpty ? key.stringValue : path + "." + key.stringValue
        }
        return path.isEmpty ? problem : "\(path): \(problem)"
    }
}
