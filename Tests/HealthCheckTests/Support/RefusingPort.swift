import Glibc

/// A port on 127.0.0.1 that refuses connections for as long as this value lives: a
/// socket bound and never listening holds the port (no other process can take it and
/// accept), and the kernel answers each SYN to it with a RST.
final class RefusingPort {
    let port: Int
    private let descriptor: Int32

    init() throws {
        (descriptor, port) = try boundLoopbackSocket()
    }

    deinit {
        close(descriptor)
    }
}

/// A TCP socket bound to a free port of 127.0.0.1, and the port.
func boundLoopbackSocket() throws -> (descriptor: Int32, port: Int) {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { throw SocketError(errno) }
    var address = loopbackAddress(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
            bind(descriptor, generic, length) == 0 && getsockname(descriptor, generic, &length) == 0
        }
    }
    guard bound else {
        let code = errno
        close(descriptor)
        throw SocketError(code)
    }
    return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
}

/// 127.0.0.1:`port` as a `sockaddr_in`.
func loopbackAddress(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return address
}

struct SocketError: Error {
    let code: Int32
    init(_ code: Int32) { self.code = code }
}
