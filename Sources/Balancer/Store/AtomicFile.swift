#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Replaces a file's contents so that a reader (or a crash) sees the old file or the
/// new one, never a mix: the data goes to a temporary file in the same directory, is
/// flushed (`fsync`), renamed over the real name (atomic on POSIX file systems), and the
/// directory is flushed so the rename survives a power loss.
public enum AtomicFile {
    /// Writes `data` to `path`; temporary files are named `temporaryPrefix` + a unique
    /// suffix, so the owner can recognise and remove what a crash left. The directory
    /// must exist. `beforeRename` runs once the new data is durable, before it replaces
    /// the old (to keep the old one aside); its failure leaves the old file in place.
    public static func replace(_ path: String, with data: Data, temporaryPrefix: String,
                               beforeRename: () throws(StateStoreError) -> Void = {}) throws(StateStoreError) {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = directory + "/" + temporaryPrefix + "\(getpid()).\(UInt32.random(in: 0 ... .max))"
        do throws(StateStoreError) {
            try writeFile(data, to: temporary)
            try beforeRename()
            guard rename(temporary, path) == 0 else { throw .posix("rename to \((path as NSString).lastPathComponent)", temporary) }
        } catch {
            unlink(temporary)
            throw error
        }
        try syncDirectory(directory)
    }

    /// Writes `data` to a new file at `path` and flushes it to the device.
    private static func writeFile(_ data: Data, to path: String) throws(StateStoreError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .posix("create", path) }
        defer { close(fd) }
        var failure: StateStoreError?
        data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count, let base = buffer.baseAddress {
                let written = write(fd, base + offset, buffer.count - offset)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else {
                    failure = .posix("write", path)
                    return
                }
                offset += written
            }
        }
        if let failure { throw failure }
        guard fsync(fd) == 0 else { throw .posix("fsync", path) }
    }

    /// Makes a rename in `directory` durable.
    private static func syncDirectory(_ directory: String) throws(StateStoreError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .posix("open directory", directory) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .posix("fsync directory", directory) }
    }
}
