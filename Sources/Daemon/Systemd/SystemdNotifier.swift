import Foundation

/// sd_notify(3) without libsystemd: `KEY=VALUE` lines in one datagram to the unix socket
/// named by `$NOTIFY_SOCKET` (a leading `@` names the abstract namespace). Under
/// `Type=notify` systemd waits for `READY=1` before the unit counts as started, shows
/// `STATUS=` in `systemctl status`, and with `WatchdogSec=` restarts the service when
/// `WATCHDOG=1` stops arriving.
public struct SystemdNotifier: Sendable {
    public let socketPath: String

    /// The notifier of `$NOTIFY_SOCKET`; nil when not started by systemd (or without
    /// `Type=notify`), where notifying is a no-op.
    public init?(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return nil }
        socketPath = path
    }

    public init(socketPath: String) {
        self.socketPath = socketPath
    }

    /// Sends `fields` (`READY=1`, `STATUS=…`) as one message.
    public func notify(_ fields: [String]) throws(SystemError) {
        let message = Array(fields.joined(separator: "\n").utf8)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else { throw SystemError(code: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        // Abstract names are exactly as long as given; paths are NUL-terminated.
        let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + path.count + (path.first == 0 ? 0 : 1)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError() }
        defer { close(fd) }
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, message, message.count, Int32(MSG_NOSIGNAL), $0, socklen_t(length))
            }
        }
        guard sent == message.count else { throw SystemError() }
    }

    /// Half of `$WATCHDOG_USEC` (what sd_watchdog_enabled(3) advises), when the watchdog
    /// is on and meant for this process (`$WATCHDOG_PID`, if set, is ours).
    public static func watchdogInterval(environment: [String: String] = ProcessInfo.processInfo.environment,
                                        pid: Int32 = getpid()) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0 else { return nil }
        if let owner = environment["WATCHDOG_PID"], Int32(owner) != pid { return nil }
        return .microseconds(usec / 2)
    }
}
