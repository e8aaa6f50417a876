/// One HTTP/1.1 request to lbd. Every request is alone on its connection (`Connection:
/// close`), so a response ends at the latest when lbd closes the socket.
struct HTTPRequest: Equatable, Sendable {
    var method: String
    /// The path and query, e.g. `/v1/apply?dry_run=1`.
    var target: String
    /// Sent with a body only.
    var contentType: String?
    var body: [UInt8]

    static func get(_ target: String) -> HTTPRequest {
        HTTPRequest(method: "GET", target: target, contentType: nil, body: [])
    }

    static func post(_ target: String, contentType: String, body: [UInt8]) -> HTTPRequest {
        HTTPRequest(method: "POST", target: target, contentType: contentType, body: body)
    }

    /// The request's bytes. `Host` is required by HTTP/1.1 even on a unix socket, where
    /// it names nothing; a POST always carries its `Content-Length`.
    var serialized: [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nUser-Agent: lbctl\r\n"
            + "Accept: application/json\r\nConnection: close\r\n"
        if method == "POST" {
            if let contentType { head += "Content-Type: \(contentType)\r\n" }
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + body
    }
}
