import Glibc

/// An owned file descriptor for a BPF program or map, closed when the last user lets go.
///
/// Holding only descriptors (never a libbpf `bpf_object`) lets the loaded and the adopted
/// datapath look the same: once loaded, the object is closed and the kernel keeps the
/// programs and maps alive through these descriptors, the pins and the XDP attachment.
final class FileDescriptor: Sendable {
    let raw: Int32

    /// Takes ownership of `fd`. Descriptors 0-2 are moved up: libbpf reads an
    /// `old_prog_fd` of 0 as "none", and a daemon may run with stdin closed.
    init(owning fd: Int32) throws {
        guard fd >= 0 else { throw DatapathError.system("take file descriptor", code: -EBADF) }
        if fd > 2 {
            raw = fd
            return
        }
        let moved = fcntl(fd, F_DUPFD_CLOEXEC, Int32(3))
        let err = currentErrno()
        close(fd)
        guard moved >= 0 else { throw DatapathError.system("duplicate file descriptor", code: err) }
        raw = moved
    }

    /// A new descriptor for the same object (libbpf's descriptors die with their `bpf_object`).
    static func duplicating(_ fd: Int32, what: String) throws -> FileDescriptor {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, Int32(3))
        guard copy >= 0 else { throw DatapathError.lastErrno("duplicate descriptor of \(what)") }
        return try FileDescriptor(owning: copy)
    }

    deinit { close(raw) }
}
