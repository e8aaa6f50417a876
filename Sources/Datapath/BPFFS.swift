import CLibbpf
import Glibc

/// Pins on the BPF filesystem: they keep programs and maps alive without a process, so
/// a restarted daemon finds the running datapath (and its connection table) intact.
enum BPFFS {
    static let magic = 0xcafe4a11

    /// Creates `path` (and missing parents) after checking that it lies on bpffs; fails
    /// clearly before creating anything elsewhere.
    static func prepareDirectory(_ path: String) throws {
        let operation = "prepare pin directory \(path)"
        guard path.hasPrefix("/") else { throw DatapathError.invalid(operation, "the path must be absolute") }
        let components = path.split(separator: "/").map(String.init)
        var existing = 0
        for depth in stride(from: components.count, through: 0, by: -1) {
            let candidate = join(components.prefix(depth))
            var info = stat()
            if stat(candidate, &info) == 0 {
                guard info.st_mode & S_IFMT == S_IFDIR else {
                    throw DatapathError.invalid(operation, "\(candidate) exists and is not a directory")
                }
                existing = depth
                break
            }
            let err = currentErrno()
            if err != ENOENT { throw DatapathError.system(operation + " (stat \(candidate))", code: err) }
        }
        try requireBPFFS(join(components.prefix(existing)), operation: operation)
        for depth in stride(from: existing + 1, through: components.count, by: 1) {
            let directory = join(components.prefix(depth))
            if mkdir(directory, 0o700) != 0, currentErrno() != EEXIST {
                throw DatapathError.lastErrno(operation + " (mkdir \(directory))")
            }
        }
        try requireBPFFS(path, operation: operation)
    }

    private static func join(_ components: ArraySlice<String>) -> String {
        "/" + components.joined(separator: "/")
    }

    static func requireBPFFS(_ path: String, operation: String) throws {
        var info = statfs()
        guard statfs(path, &info) == 0 else { throw DatapathError.lastErrno(operation + " (statfs \(path))") }
        guard info.f_type == magic else {
            throw DatapathError(kind: .notBPFFS, operation: operation,
                                message: "\(path) is not on a BPF filesystem (bpffs); pins must live under one, "
                                    + "e.g. /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)")
        }
    }

    /// The object pinned at `path`, or nil if nothing is pinned there.
    static func open(_ path: String) throws -> FileDescriptor? {
        let fd = bpf_obj_get(path)
        if fd == -ENOENT { return nil }
        try check(fd, "open pinned object \(path)")
        return try FileDescriptor(owning: fd)
    }

    /// Pins `fd` at `directory/name`, replacing what was pinned there in one step
    /// (pin under a temporary name, then rename over): a concurrent reader sees the old
    /// or the new object, never no object. (bpffs refuses dots in names.)
    static func pinReplacing(fd: Int32, directory: String, name: String) throws {
        let final = directory + "/" + name
        let temporary = directory + "/" + name + "__pinning"
        unlink(temporary)
        try check(bpf_obj_pin(fd, temporary), "pin \(name) at \(temporary)")
        if rename(temporary, final) != 0 {
            let err = currentErrno()
            unlink(temporary)
            throw DatapathError.system("pin \(name) at \(final) (rename)", code: err)
        }
    }

    /// Removes the pin at `path`; false if there was none.
    @discardableResult
    static func unpin(_ path: String) throws -> Bool {
        if unlink(path) == 0 { return true }
        let err = currentErrno()
        if err == ENOENT { return false }
        throw DatapathError.system("remove pin \(path)", code: err)
    }
}
