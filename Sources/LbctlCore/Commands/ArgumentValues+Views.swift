import Foundation

/// Values of the view commands (`top sources`, `capture`).
extension ArgumentValues {
    /// `value` of `option` if in `range`, else a usage error naming both.
    static func inRange(_ value: Int, _ option: String, _ range: ClosedRange<Int>) throws(Failure) -> Int {
        guard range.contains(value) else {
            throw .usage("\(option) must be from \(range.lowerBound) to \(range.upperBound), not \(value)")
        }
        return value
    }

    /// `vip=…` for a query string, the VIP checked and escaped (`[`, `:`, `/`).
    static func vipParameter(_ text: String) throws(Failure) -> String {
        let vip = try ArgumentValues.vip(text).description
        return "vip=" + (vip.addingPercentEncoding(withAllowedCharacters: unreserved) ?? vip)
    }

    /// RFC 3986's unreserved characters.
    private static let unreserved = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
}
