#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The desired state on disk, `state.json` in the state directory: what the daemon
/// serves after a restart, whatever the configuration file's seed services say.
///
/// A save never leaves a partial file under the real name (`AtomicFile`). A crash leaves
/// at most a temporary file, which the next `load` removes.
///
/// The state a save replaces stays as `state.json.prev`: when `state.json` is damaged
/// (a disk error, a hand edit), `lbd --recover-state` starts from it (`recoverPrevious`).
public struct StateStore: Sendable {
    public static let fileName = "state.json"
    public static let previousFileName = "state.json.prev"
    /// Where `recoverPrevious` moves the damaged file, for the operator to look at.
    public static let damagedFileName = "state.json.corrupt"
    /// Temporary files: hidden, named after the state file, then a unique suffix.
    static let temporaryPrefix = ".state.json.tmp."

    public let directory: String
    /// What the last save encoded, so the next one encodes only the services that changed.
    private let encoded = EncodedServices()

    public init(directory: String) {
        self.directory = directory
    }

    /// The state file's path.
    public var path: String { directory + "/" + Self.fileName }

    /// `state.version`, from what the last save encoded: after a save of `state`, nothing
    /// is encoded again, and the services' JSON is held once.
    public func version(of state: DesiredState) -> String {
        state.version(reusing: encoded)
    }
    public var previousPath: String { directory + "/" + Self.previousFileName }

    /// The saved state, validated under `limits`; nil when there is no state file yet
    /// (first start: seed from the configuration). A file that cannot be read back —
    /// truncated, not JSON, another format version, or invalid under `limits` — is an
    /// error, never an empty state: starting empty would withdraw every VIP.
    /// Temporary files left by an interrupted save are removed.
    public func load(limits: Limits) throws(StateStoreError) -> DesiredState? {
        try removeTemporaryFiles()
        return try Self.read(path, limits: limits)
    }

    /// The saved state as `load` reads it, but leaving the directory as it is: for a
    /// reader beside a running lbd (`lbd check`), whose save may be under way.
    public func peek(limits: Limits) throws(StateStoreError) -> DesiredState? {
        try Self.read(path, limits: limits)
    }

    /// The state before the last save (`state.json.prev`), for a `state.json` that cannot
    /// be loaded: validated under `limits`, then saved as `state.json`, the damaged file
    /// moved to `state.json.corrupt`. Throws, changing nothing, when there is no usable
    /// previous state.
    public func recoverPrevious(limits: Limits) throws(StateStoreError) -> DesiredState {
        try removeTemporaryFiles()
        guard let previous = try Self.read(previousPath, limits: limits) else {
            throw .io(operation: "recover from", path: previousPath, detail: "there is no previous state")
        }
        let damaged = directory + "/" + Self.damagedFileName
        guard rename(path, damaged) == 0 || errno == ENOENT else { throw .posix("move aside to \(Self.damagedFileName)", path) }
        try save(previous)
        return previous
    }

    private static func read(_ path: String, limits: Limits) throws(StateStoreError) -> DesiredState? {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as CocoaError where error.code == .fileReadNoSuchFile {
            return nil
        } catch {
            throw .io(operation: "read", path: path, detail: error.localizedDescription)
        }
        guard !data.isEmpty else { throw .corrupt(path: path, .malformed("the file is empty (truncated?)")) }
        do {
            return try DesiredState(json: data, limits: limits)
        } catch {
            throw .corrupt(path: path, error)
        }
    }

    /// Replaces the saved state with `state`, atomically and durably (see the type).
    /// Creates the directory if needed. The saved state's version, from the same encoding.
    @discardableResult
    public func save(_ state: DesiredState) throws(StateStoreError) -> String {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .io(operation: "create directory", path: directory, detail: error.localizedDescription)
        }
        let (json, version) = state.jsonDataAndVersion(reusing: encoded)
        try AtomicFile.replace(path, with: json, temporaryPrefix: Self.temporaryPrefix, beforeRename: keepCurrentAsPrevious)
        return version
    }

    /// Makes `state.json.prev` the file about to be replaced, in one rename: a hard link
    /// to it under a temporary name (removed by `load` if a crash leaves it) renamed over.
    private func keepCurrentAsPrevious() throws(StateStoreError) {
        let hardLink = directory + "/" + Self.temporaryPrefix + "prev.\(getpid())"
        unlink(hardLink)
        guard link(path, hardLink) == 0 else {
            if errno == ENOENT { return }  // the first save
            throw .posix("link to \(Self.previousFileName)", path)
        }
        guard rename(hardLink, previousPath) == 0 else {
            let failure = StateStoreError.posix("rename to \(Self.previousFileName)", hardLink)
            unlink(hardLink)
            throw failure
        }
    }

    /// Removes what interrupted saves left; the state file itself is never touched.
    private func removeTemporaryFiles() throws(StateStoreError) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch let error as CocoaError where error.code == .fileReadNoSuchFile {
            return
        } catch {
            throw .io(operation: "list", path: directory, detail: error.localizedDescription)
        }
        for name in names where name.hasPrefix(Self.temporaryPrefix) {
            let leftover = directory + "/" + name
            guard unlink(leftover) == 0 || errno == ENOENT else { throw .posix("remove leftover", leftover) }
        }
    }
}

/// Why the state could not be loaded or saved.
public enum StateStoreError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// The file system refused an operation.
    case io(operation: String, path: String, detail: String)
    /// The state file exists but cannot be used; it is left as it is for the operator.
    case corrupt(path: String, StateFileError)

    static func posix(_ operation: String, _ path: String) -> StateStoreError {
        .io(operation: operation, path: path, detail: String(cString: strerror(errno)))
    }

    public var description: String {
        switch self {
        case .io(let operation, let path, let detail):
            return "\(path): \(operation) failed: \(detail)"
        case .corrupt(let path, let error):
            return "\(path): \(error.description); start lbd once with --recover-state to go back to "
                + "\(StateStore.previousFileName) (the state before the last change), fix it, "
                + "or remove it to start from the configured services"
        }
    }

    public var errorDescription: String? { description }
}
