import Foundation

/// Each service of the last state saved, as the JSON of its element in the state file's
/// `services` array (indented for that place), kept to be reused by the next save.
public final class EncodedServices: @unchecked Sendable {
    private let lock = NSLock()
    private var encoded: [VIPKey: (service: ServiceSpec, json: [UInt8])] = [:]

    public init() {}

    /// The fragments of `services`, in order; the cache then holds exactly these.
    func fragments(for services: [ServiceSpec]) -> [[UInt8]] {
        lock.withLock {
            var next: [VIPKey: (service: ServiceSpec, json: [UInt8])] = [:]
            let fragments = services.map { service in
                let json = encoded[service.vip].flatMap { $0.service == service ? $0.json : nil } ?? Self.encode(service)
                next[service.vip] = (service, json)
                return json
            }
            encoded = next
            return fragments
        }
    }

    /// The service's pretty JSON, every non-empty line indented by four spaces, as
    /// `JSONEncoder` writes an element of an array two levels deep.
    private static func encode(_ service: ServiceSpec) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding strings, numbers and booleans cannot fail.
        let json = (try? encoder.encode(service)) ?? Data()
        var indented: [UInt8] = []
        indented.reserveCapacity(json.count * 5 / 4)
        var atLineStart = true
        for byte in json {
            if atLineStart, byte != UInt8(ascii: "\n") { indented.append(contentsOf: [32, 32, 32, 32]) }
            indented.append(byte)
            atLineStart = byte == UInt8(ascii: "\n")
        }
        return indented
    }
}
