import CLibbpf
import Glibc

/// Every failure of the Datapath module.
///
/// Kernel and libbpf failures carry libbpf's own text (`libbpf_strerror`, which also
/// knows libbpf's private error codes) next to the errno, so an operator reading a log
/// line never has to decode a bare number. `kind` lets the daemon react to the
/// failures it can do something about (incompatible pins, a foreign XDP program)
/// without parsing text.
public struct DatapathError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A libbpf or kernel call failed; `errno` is set.
        case system
        /// Swift's view of a shared struct or map disagrees with the BPF object's BTF
        /// or the kernel's map: the binary and the object were built from different headers.
        case layoutMismatch
        /// The pin directory holds a program or maps this object cannot use (another
        /// ABI or other limits). Nothing was changed; `removePins` is the explicit reset.
        case incompatiblePins
        /// The pin directory is not on a BPF filesystem.
        case notBPFFS
        /// A caller-supplied value is out of range (limits, frame sizes, indices).
        case invalidArgument
        /// The object lacks a program, map, struct or variable this module needs.
        case missingFromObject
        /// No network interface has that name.
        case unknownInterface
        /// Another XDP program (not an earlier version of ours) is attached.
        case foreignProgram
    }

    public let kind: Kind
    /// What was being done, e.g. "load balancer object" or "update map vip_map".
    public let operation: String
    /// The errno reported by the kernel or libbpf, when there was one.
    public let errno: Int32?
    /// libbpf's text for `errno`, or an explanation for non-system errors.
    public let message: String
    /// Supporting lines: the tail of the verifier log, each pin mismatch, ...
    public let details: [String]

    public init(kind: Kind, operation: String, errno: Int32? = nil, message: String, details: [String] = []) {
        self.kind = kind
        self.operation = operation
        self.errno = errno
        self.message = message
        self.details = details
    }

    public var description: String {
        var text = "\(operation): \(message)"
        if let errno { text += " (errno \(errno))" }
        for line in details { text += "\n  " + line }
        return text
    }

    /// A failed libbpf/kernel call. `code` may be negative (libbpf's return convention) or positive.
    static func system(_ operation: String, code: Int32, details: [String] = []) -> DatapathError {
        let err = code == Int32.min ? Int32.max : abs(code)
        return DatapathError(kind: .system, operation: operation, errno: err,
                             message: libbpfErrorText(err), details: details)
    }

    /// A failed libc call that reported through `errno`.
    static func lastErrno(_ operation: String) -> DatapathError {
        system(operation, code: currentErrno())
    }

    /// A caller-supplied value out of range.
    public static func invalid(_ operation: String, _ message: String) -> DatapathError {
        DatapathError(kind: .invalidArgument, operation: operation, message: message)
    }
}

/// libbpf's text for an error code (positive or negative).
func libbpfErrorText(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    let status = libbpf_strerror(code, &buffer, buffer.count)
    let text = cString(buffer)
    if status != 0 && text.isEmpty { return "unknown error \(code)" }
    return text
}

func currentErrno() -> Int32 { Glibc.errno }

/// Checks a libbpf return value (negative errno on failure) and returns it otherwise.
@discardableResult
func check(_ result: Int32, _ operation: @autoclosure () -> String) throws -> Int32 {
    if result < 0 { throw DatapathError.system(operation(), code: result) }
    return result
}

/// A NUL-terminated C string held in a buffer (or the whole buffer when unterminated).
func cString(_ buffer: [CChar]) -> String {
    buffer.withUnsafeBytes { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
}

/// A C `char name[N]` field, imported as a tuple.
func cString<Tuple>(tuple: Tuple) -> String {
    withUnsafeBytes(of: tuple) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
}

/// A C string pointer that may be NULL.
func cString(_ pointer: UnsafePointer<CChar>?) -> String {
    guard let pointer else { return "" }
    return String(cString: pointer)
}
