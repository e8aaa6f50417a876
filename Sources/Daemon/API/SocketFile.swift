import Foundation
import LBDAPI

/// The API socket's place on the file system: its directory, what a previous run left
/// there, its permissions. The socket is the API's only access control: root and the
/// `lbd` group may connect, nobody else (connecting needs write permission on it).
enum SocketFile {
    static let groupName = "lbd"

    /// Creates the parent directory if needed and removes a stale socket (one nobody
    /// accepts on: a daemon that died). A live socket means another daemon serves it; a
    /// file that is not a socket is someone else's. Both are refused, left as they are.
    static func prepare(_ path: String) throws(StartupFailure) {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
        } catch {
            throw StartupFailure("api_socket: cannot create \(directory): \(error.localizedDescription)")
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw .configuration("api_socket \(path) exists and is not a socket; remove it or choose another path")
        }
        if isServed(path) {
            throw StartupFailure("api_socket \(path) is in use: another lbd is running")
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw StartupFailure("api_socket: cannot remove the stale socket \(path): \(SystemError())")
        }
    }

    /// Mode 0660, owner root, group `lbd` when that group exists (else root's group:
    /// root only).
    static func restrict(_ path: String) throws(StartupFailure) {
        guard chmod(path, 0o660) == 0 else { throw StartupFailure("api_socket: chmod 0660 \(path): \(SystemError())") }
        if let group = getgrnam(groupName) {
            guard chown(path, 0, group.pointee.gr_gid) == 0 else {
                throw StartupFailure("api_socket: chown root:\(groupName) \(path): \(SystemError())")
            }
        }
    }

    /// Whether something accepts connections on the unix socket at `path`.
    private static func isServed(_ path: String) -> Bool {
        (try? UnixSocketConnection(path: path, timeout: .seconds(1))) != nil
    }
}
