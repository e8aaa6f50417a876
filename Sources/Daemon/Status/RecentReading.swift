import Foundation

/// A reading of the datapath taken at most once per `maxAge`, however often status,
/// scrapes and waits ask for it; callers wait while another reads: one reading at a time.
final class RecentReading<Value: Sendable>: @unchecked Sendable {
    private let maxAge: TimeInterval
    private let read: @Sendable (_ now: Date) throws -> Value
    private let lock = NSLock()
    private var last: (value: Value, takenAt: Date)?

    init(maxAge: TimeInterval, read: @escaping @Sendable (_ now: Date) throws -> Value) {
        self.maxAge = maxAge
        self.read = read
    }

    /// The last reading if younger than `maxAge`, else a new one taken at `now`.
    func value(now: Date = Date()) throws -> Value {
        try lock.withLock {
            if let last, now.timeIntervalSince(last.takenAt) < maxAge { return last.value }
            let value = try read(now)
            last = (value, now)
            return value
        }
    }
}
