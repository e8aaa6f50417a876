import Balancer

/// Query parameters of GET and POST targets, read with the range the endpoint allows.
enum QueryParameter {
    /// `query[name]` as an integer in `range`; nil when absent.
    static func integer(_ query: [String: String], _ name: String, _ range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let text = query[name] else { return nil }
        guard text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text), range.contains(value) else {
            throw .badRequest("\(name) must be an integer from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return value
    }

    /// `query[name]`, `0` or `1`; `fallback` when absent.
    static func flag(_ query: [String: String], _ name: String, default fallback: Bool) throws(APIError) -> Bool {
        switch query[name] {
        case nil: fallback
        case "0": false
        case "1": true
        case let other?: throw .badRequest("\(name) must be 0 or 1, not '\(other)'")
        }
    }

    /// `query["vip"]` as a VIP; nil when absent.
    static func vip(_ query: [String: String]) throws(APIError) -> VIPKey? {
        guard let text = query["vip"] else { return nil }
        do {
            return try VIPKey(text)
        } catch {
            throw .badRequest(error.description)
        }
    }
}
