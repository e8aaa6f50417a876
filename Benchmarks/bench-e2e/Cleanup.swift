import BenchSupport
import Foundation
import TestSupport

/// What the run started, stopped at its end (after a failure and on Ctrl-C too): the
/// processes (TERM), the topologies, the generator's namespace, the scratch directory.
final class Cleanup: @unchecked Sendable {
    let work: String
    let topologyScript: String
    private let lock = NSLock()
    private var pids: [pid_t] = []
    private var topologies: [String] = []
    private var namespaces: [String] = []
    private var done = false

    init(work: String, topologyScript: String) {
        self.work = work
        self.topologyScript = topologyScript
    }

    func started(_ pid: pid_t) { lock.withLock { pids.append(pid) } }
    func builtTopology(_ name: String) { lock.withLock { topologies.append(name) } }
    func addedNamespace(_ name: String) { lock.withLock { namespaces.append(name) } }

    /// Once: a signal may come while it runs.
    func run() {
        let what: (pids: [pid_t], topologies: [String], namespaces: [String])? = lock.withLock {
            if done { return nil }
            done = true
            return (pids, topologies, namespaces)
        }
        guard let what else { return }
        for pid in what.pids { kill(pid, SIGTERM) }
        for name in what.topologies { _ = try? shell(topologyScript, "down", name) }
        for name in what.namespaces { _ = try? shell("ip", "netns", "del", name) }
        try? FileManager.default.removeItem(atPath: work)
    }
}

/// Runs `command` (found on PATH) to its end with its output in `log`: for the servers
/// that detach (nginx, haproxy -D, iperf3 -D). Spawned and waited for by hand: Foundation's
/// Process sees an exit only once every copy of a socket it gives the child is closed,
/// and the detached server would keep one.
func startDetaching(_ command: [String], log: String) throws {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let arguments = command.map { strdup($0) } + [nil]
    defer { arguments.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawnp(&pid, command[0], &actions, nil, arguments, environ)
    guard spawned == 0 else { throw BenchError("\(command[0]): \(String(cString: strerror(spawned)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1, errno == EINTR {}
    // Exited (no signal) with 0.
    guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
        throw BenchError("\(command.joined(separator: " ")) failed (wait status \(status)): "
            + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
    }
}

/// Waits (5 s) until `path` exists and is not empty: a daemon's pid file.
func waitForFile(_ path: String) throws {
    try waitForBlocking("\(path) appearing", within: .seconds(5), every: .milliseconds(50)) {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) > 0
    }
}

/// The first line of a pid file, without NULs (iperf3 pads its own).
func readPID(_ path: String) throws -> pid_t {
    let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "\0", with: "")
    guard let pid = pid_t(text.split(separator: "\n").first?.trimmingCharacters(in: .whitespaces) ?? "") else {
        throw BenchError("no pid in \(path): \(text)")
    }
    return pid
}
