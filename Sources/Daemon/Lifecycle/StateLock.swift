import Foundation

/// An exclusive `flock` on `lbd.lock` in the state directory, held for the daemon's
/// life: two daemons writing one state file and one set of maps would undo each
/// other's edits, so the second refuses to start. The kernel drops the lock when the
/// process dies, however it dies: no stale lock after kill -9.
public final class StateLock: Sendable {
    public static let fileName = "lbd.lock"
    private let fd: Int32

    /// Creates the directory if needed; fails when another process holds the lock.
    public init(directory: String) throws(StartupFailure) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StartupFailure("state_dir \(directory): cannot create: \(error.localizedDescription)")
        }
        let path = directory + "/" + Self.fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StartupFailure("\(path): cannot open: \(SystemError())") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let error = SystemError()
            close(fd)
            if error.code == EWOULDBLOCK {
                throw StartupFailure("\(path) is locked: another lbd is running on state_dir \(directory)")
            }
            throw StartupFailure("\(path): cannot lock: \(error)")
        }
        self.fd = fd
    }

    deinit {
        close(fd)
    }
}
