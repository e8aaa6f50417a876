/// Values of the view commands (`top sources`, `capture`).
extension ArgumentValues {
    /// `value` of `option` if in `range`, else a usage error naming both.
    static func inRange(_ value: Int, _ option: String, _ range: ClosedRange<Int>) throws(Failure) -> Int {
        guard range.contains(value) else {
            throw .usage("\(option) must be from \(range.lowerBound) to \(range.upperBound), not \(value)")
        }
        return value
    }
}
