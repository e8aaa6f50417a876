/// One HTTP/1.1 request to lbd.
public struct HTTPRequest: Equatable, Sendable {
    public var method: String
    /// The path and query, e.g. `/v1/apply?dry_run=1`.
    public var target: String
    /// Sent with a body only.
    public var contentType: String?
    public var body: [UInt8]
    /// How long lbd holds its answer on purpose (it counts or captures for that long): the
    /// client's deadline grows by as much. Not sent.
    public var window: Duration = .zero

    public init(method: String, target: String, contentType: String? = nil, body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.contentType = contentType
        self.body = body
    }

    public static func get(_ target: String) -> HTTPRequest {
        HTTPRequest(method: "GET", target: target)
    }

    public static func post(_ target: String, contentType: String, body: [UInt8]) -> HTTPRequest {
        HTTPRequest(method: "POST", target: target, contentType: contentType, body: body)
    }

    public static func post(_ target: String, json: String) -> HTTPRequest {
        post(target, contentType: "application/json", body: Array(json.utf8))
    }

    public static func post(_ target: String, yaml: String) -> HTTPRequest {
        post(target, contentType: "application/yaml", body: Array(yaml.utf8))
    }

    /// The request's bytes. `Host` is required by HTTP/1.1 even on a unix socket, where
    /// it names nothing; a POST always carries its `Content-Length`. Without `keepAlive`
    /// the request is alone on its connection (`Connection: close`), so a response ends
    /// at the latest when lbd closes the socket.
    public func serialized(keepAlive: Bool) -> [UInt8] {
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
