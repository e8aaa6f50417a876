/// A backend as the table sees it: an opaque identity and a weight.
///
/// The identity is the backend's canonical byte encoding, chosen by the caller and
/// kept stable across restarts and nodes: it alone decides the backend's place in
/// every table (Maglev.docc/Format.md recommends the 16-byte IPv6 or IPv4-mapped
/// address). The module knows no networking types so that it stays a pure function
/// of bytes.
public struct MaglevBackend: Hashable, Sendable, Identifiable {
    /// Canonical identity bytes; tables order backends by them.
    public let id: [UInt8]
    /// Relative share of the table's slots; 0 means "no new flows".
    public let weight: UInt32

    /// Takes the weight as `Int` so that a negative configuration value is reported
    /// as such rather than trapping in a conversion.
    public init(id: [UInt8], weight: Int) throws(MaglevError) {
        guard weight >= 0 else { throw .negativeWeight(id: id, weight: weight) }
        guard let weight = UInt32(exactly: weight) else { throw .weightTooLarge(id: id, weight: weight) }
        self.id = id
        self.weight = weight
    }
}
