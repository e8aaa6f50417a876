import Foundation

/// The `p`-quantile (0...1) of `sorted` by the nearest-rank method.
public func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1))]
}

public func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

public func format(_ value: Double) -> String { String(format: "%.1f", value) }

/// A process's resident set and CPU time so far, from /proc.
public struct ProcessUsage {
    public let residentKilobytes: Double
    /// User plus system time, in seconds.
    public let cpuSeconds: Double
    /// User time alone (the rest, `cpuSeconds - userSeconds`, is system time).
    public let userSeconds: Double

    public init(pid: Int32) throws {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { throw BenchError("no VmRSS in /proc/\(pid)/status") }
        // Fields after the command name (which may hold spaces, hence the last ')'): utime is 14th, stime 15th.
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.index(after: stat.lastIndex(of: ")") ?? stat.startIndex)...]
            .split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else {
            throw BenchError("unreadable /proc/\(pid)/stat")
        }
        residentKilobytes = kilobytes
        cpuSeconds = (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        userSeconds = user / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
