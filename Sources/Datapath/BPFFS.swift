import CLibbpf
import Glibc

/// Pins on the BPF filesystem: they keep programs and maps alive without a process, so
/// a restarted daemon finds the running datapath (and its connection table) intact.
public enum BPFFS {
    static let magic = 0xcafe4a11
    /// Where systemd mounts bpffs at boot, and Cilium when systemd has not; a freshly
    /// booted machine without either has only sysfs's empty directory here.
    public static let root = "/sys/fs/bpf"

    /// Creates `path` (and missing parents) after checking that it lies on bpffs; fails
    /// clearly before creating anything elsewhere. A path under `root` with no bpffs
    /// mounted there gets one mounted first; returns `root` when it did, for the caller
    /// to report.
    @discardableResult
    public static func prepareDirectory(_ path: String) throws -> String? {
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
        let mounted = try mountRootIfMissing(deepestExisting: join(components.prefix(existing)))
        try requireBPFFS(join(components.prefix(existing)), operation: operation)
        for depth in stride(from: existing + 1, through: components.count, by: 1) {
            let directory = join(components.prefix(depth))
            if mkdir(directory, 0o700) != 0, currentErrno() != EEXIST {
                throw DatapathError.lastErrno(operation + " (mkdir \(directory))")
            }
        }
        try requireBPFFS(path, operation: operation)
        return mounted
    }

    /// Mounts a new bpffs instance at `root` when a pin directory whose deepest existing
    /// ancestor is `existing` lies under `root` and none is mounted there (sysfs's `root`
    /// is empty and refuses mkdir, so nothing below it exists then); returns `root` if it
    /// mounted. Pin directories elsewhere are the operator's to mount.
    private static func mountRootIfMissing(deepestExisting existing: String) throws -> String? {
        guard existing == root, !isBPFFS(root) else { return nil }
        // As systemd mounts it: only root may list or create pins.
        guard mount("bpf", root, "bpf", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), "mode=0700") == 0 else {
            throw DatapathError.lastErrno("mount bpffs at \(root) (none is mounted there)")
        }
        return root
    }

    private static func isBPFFS(_ path: String) -> Bool {
        var info = statfs()
        return statfs(path, &info) == 0 && info.f_type == magic
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
