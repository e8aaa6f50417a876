import Foundation

/// Why a backend or a table was refused. `description` (and `errorDescription`, for
/// callers that log `localizedDescription`) says what was wrong and what is allowed.
public enum MaglevError: Error, Equatable, Sendable {
    /// A table needs at least one backend (a set whose weights are all 0 is fine).
    case emptyBackendSet
    /// The same identity appears twice: its share would be ambiguous.
    case duplicateBackend(id: [UInt8])
    /// Weights count slots; a negative one has no meaning.
    case negativeWeight(id: [UInt8], weight: Int)
    /// Weights are stored as `UInt32`, as in the datapath configuration.
    case weightTooLarge(id: [UInt8], weight: Int)
    /// Only a prime size makes every skip visit every slot.
    case tableSizeNotPrime(size: Int)
    /// Slot numbers are `UInt32` in the datapath, and the population adds two of them.
    case tableSizeTooLarge(size: Int)
    /// Below `minimum` slots the shares drift too far from the weights.
    case tableSizeTooSmall(size: Int, backendCount: Int, minimum: Int)
}

extension MaglevError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .emptyBackendSet:
            return "maglev: the backend set is empty; a table needs at least one backend"
        case .duplicateBackend(let id):
            return "maglev: backend \(hex(id)) appears more than once"
        case .negativeWeight(let id, let weight):
            return "maglev: backend \(hex(id)) has negative weight \(weight); weights are 0...\(UInt32.max)"
        case .weightTooLarge(let id, let weight):
            return "maglev: backend \(hex(id)) has weight \(weight); weights are 0...\(UInt32.max)"
        case .tableSizeNotPrime(let size):
            return "maglev: table size \(size) is not prime (nearest larger prime: \(nextPrime(atLeast: size)))"
        case .tableSizeTooLarge(let size):
            return "maglev: table size \(size) exceeds the maximum \(MaglevTable.maximumSize)"
        case .tableSizeTooSmall(let size, let backendCount, let minimum):
            return "maglev: table size \(size) is too small for \(backendCount) backends; "
                + "it must be at least \(minimum) (smallest prime: \(nextPrime(atLeast: minimum)))"
        }
    }
}

extension MaglevError: LocalizedError {
    public var errorDescription: String? { description }
}

/// Identities in messages: lower-case hex, the way Maglev.docc/Format.md and the fixtures write them.
func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xf)]] })
}
