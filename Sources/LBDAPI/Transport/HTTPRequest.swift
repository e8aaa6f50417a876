/// One HTTP/1.1 request to lbd. By default a request is alone on its connection
/// (`Connection: close`), so a response ends at the latest when lbd closes the socket;
/// `keepAlive` leaves the connection open for the next request (`UnixSocketConnection`).
public struct HTTPRequest: Equatable, Sendable {
    public var method: String
    /// The path and query, e.g. `/v1/apply?dry_run=1`.
    public var target: String
    /// Sent with a body only.
    public var contentType: String?
    public var body: [UInt8]
    public var keepAlive = false

    public init(method: String, target: String, contentType: String? = nil, body: [UInt8] = [], keepAlive: Bool = false) {
        self.method = method
        self.target = target
        self.contentType = contentType
        self.body = body
        self.keepAlive = keepAlive
    }

    public static func get(_ target: String) -> HTTPRequest {
        HTTPRequest(method: "GET", target: target)
    }

    public static func post(_ target: String, contentType: String, body: [UInt8]) -> HTTPRequest {
        HTTPRequest(method: "POST", target: target, contentType: contentType, body: body)
    }

    public static func post(_ target: String, contentType: String, body: String) -> HTTPRequest {
        post(target, contentType: contentType, body: Array(body.utf8))
    }

    /// The request's bytes. `Host` is required by HTTP/1.1 even on a unix socket, where
    /// it names nothing; a POST always carries its `Content-Length`.
    public var serialized: [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nUser-Agent: lbctl\r\nAccept: application/json\r\n"
        if !keepAlive { head += "Connection: close\r\n" }
        if method == "POST" {
            if let contentType { head += "Content-Type: \(contentType)\r\n" }
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + body
    }
}
