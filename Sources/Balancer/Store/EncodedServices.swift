import Foundation
import Maglev

/// Each service of the last state saved, as the JSON of its element in the state file's
/// `services` array (indented for that place) and a digest of that JSON, kept to be
/// reused by the next save or version.
public final class EncodedServices: @unchecked Sendable {
    private typealias Entry = (service: ServiceSpec, json: [UInt8], digest: UInt64)
    private let lock = NSLock()
    private var encoded: [VIPKey: Entry] = [:]

    public init() {}

    /// The fragment and its digest of each of `services`, in order; the cache then holds
    /// exactly these.
    func encode(_ services: [ServiceSpec]) -> (fragments: [[UInt8]], digests: [UInt64]) {
        let entries = entries(for: services)
        return (entries.map(\.json), entries.map(\.digest))
    }

    /// A fixed key: digests are the same on every node and across restarts.
    static let digestHash = SipHash24(key: Array("lbd-state-digest".utf8))

    private func entries(for services: [ServiceSpec]) -> [Entry] {
        lock.withLock {
            var next: [VIPKey: Entry] = [:]
            let entries = services.map { service in
                let entry = encoded[service.vip].flatMap { $0.service == service ? $0 : nil } ?? {
                    let json = Self.encode(service)
                    return (service, json, Self.digestHash.hash(json))
                }()
                next[service.vip] = entry
                return entry
            }
            encoded = next
            return entries
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
