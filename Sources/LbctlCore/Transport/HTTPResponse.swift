/// A complete response from lbd.
struct HTTPResponse: Equatable, Sendable {
    struct Header: Equatable, Sendable {
        var name: String
        var value: String
    }

    var status: Int
    /// As received; look them up with `header(_:)`.
    var headers: [Header]
    var body: [UInt8]

    /// The first value of `name`, compared without case as HTTP requires.
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var isSuccess: Bool { (200..<300).contains(status) }
}
