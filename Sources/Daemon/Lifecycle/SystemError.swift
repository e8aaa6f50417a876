#if canImport(Glibc)
import Glibc
#endif

/// The failure of a system call, as `strerror` tells it.
public struct SystemError: Error, CustomStringConvertible {
    public let code: Int32

    /// The current `errno`.
    public init(code: Int32 = errno) {
        self.code = code
    }

    public var description: String { String(cString: strerror(code)) }
}
