import Foundation

/// Runs a helper command (`ip`) with posix_spawn and collects its standard output.
///
/// Not Foundation's `Process`: on Linux it waits through a CFRunLoop whose wakeup
/// sockets use the loopback interface, and hangs in a network namespace where `lo` is
/// down — where lbd may well run.
enum Command {
    /// The standard output of `arguments` (the first found on PATH), or nil when it
    /// cannot run or exits non-zero. Its stderr goes to /dev/null.
    static func output(_ arguments: [String]) -> Data? {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else { return nil }
        // Only the child's stdout (dup2 clears the flag there) may outlive the exec.
        for fd in pipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        close(pipe[1])
        defer { close(pipe[0]) }
        guard spawned == 0 else { return nil }
        var output = Data()
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = read(pipe[0], &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            output.append(contentsOf: buffer[..<count])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        // Exited normally with status 0.
        return status & 0x7f == 0 && (status >> 8) & 0xff == 0 ? output : nil
    }
}
