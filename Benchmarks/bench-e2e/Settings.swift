import BenchSupport
import Foundation

/// What a run measures, from the environment (`make bench-e2e` passes none: the defaults).
struct Settings {
    let runs: Int
    let seconds: Int
    let connections: Int
    let threads: Int
    /// Frames per LB-only run.
    let repeatCount: Int
    let modes: [String]

    static let allModes = ["lb-only", "direct", "haproxy", "nginx", "lbd-generic", "lbd-native"]
    static let metrics = ["conn_per_s", "req_per_s", "download_gbit_s"]
    static let httpPort = 8080, iperfPort = 5201

    init(_ environment: [String: String]) throws {
        func number(_ name: String, _ fallback: Int) throws -> Int {
            guard let text = environment[name] else { return fallback }
            guard let value = Int(text), value > 0 else { throw BenchError("\(name)=\(text): a positive number, please") }
            return value
        }
        runs = try number("BENCH_E2E_RUNS", 3)
        seconds = try number("BENCH_E2E_SECONDS", 5)
        connections = try number("BENCH_E2E_CONNECTIONS", 64)
        threads = try number("BENCH_E2E_THREADS", 2)
        repeatCount = try number("BENCH_E2E_REPEAT", 5_000_000)
        modes = environment["BENCH_E2E_MODES"].map { $0.split(separator: " ").map(String.init) } ?? Self.allModes
        if let unknown = modes.first(where: { !Self.allModes.contains($0) }) {
            throw BenchError("BENCH_E2E_MODES: no mode \(unknown) (\(Self.allModes.joined(separator: " ")))")
        }
    }

    func wants(_ mode: String) -> Bool { modes.contains(mode) }
}
