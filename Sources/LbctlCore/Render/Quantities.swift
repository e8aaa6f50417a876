import Foundation

/// Numbers as an operator reads them in a table; `--json` keeps the exact values.
enum Quantities {
    private static let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]

    /// Binary units with one decimal (`1.5 MiB`), bytes below 1 KiB (`512 B`): the
    /// units of `ip -s -h` and `ethtool`.
    static func bytes(_ count: UInt64) -> String {
        guard count >= 1024 else { return "\(count) B" }
        var value = Double(count) / 1024
        var unit = 0
        // 1023.95 and above would print as 1024.0 of this unit: take the next one.
        while value >= 1023.95, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return String(format: "%.1f ", value) + units[unit]
    }

    /// A time in the largest whole unit, as `ps` and `kubectl` show ages: `45s`, `12m`,
    /// `3h`, `2d`.
    static func age(seconds: Double) -> String {
        let whole = max(0, Int(seconds))
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] where whole >= size {
            return "\(whole / size)\(unit)"
        }
        return "\(whole)s"
    }

    /// Milliseconds with one decimal: `1.2 ms`.
    static func milliseconds(_ value: Double) -> String {
        String(format: "%.1f ms", value)
    }

    /// A fraction (0...1) as a percentage with one decimal: `0.3333` → `33.3%`.
    static func percent(_ fraction: Double) -> String {
        String(format: "%.1f%%", fraction * 100)
    }
}
