import Foundation
import NIOHTTP1

/// A request as the router sees it: the transport is the server's business.
public struct APIRequest: Sendable {
    public var method: HTTPMethod
    /// Path and query, as sent: `/v1/apply?dry_run=1`.
    public var uri: String
    public var body: Data

    public init(method: HTTPMethod, uri: String, body: Data = Data()) {
        self.method = method
        self.uri = uri
        self.body = body
    }
}

/// A complete response: status, content type, body.
public struct APIResponse: Sendable, Equatable {
    public var status: HTTPResponseStatus
    public var contentType: String
    public var body: Data

    static func json(_ value: some Encodable, status: HTTPResponseStatus = .ok) -> APIResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, numbers and booleans always encode.
        let body = (try? encoder.encode(value)) ?? Data()
        return APIResponse(status: status, contentType: "application/json", body: body + Data("\n".utf8))
    }

    static func error(_ error: APIError) -> APIResponse {
        json(["error": error.message, "code": error.code].compactMapValues { $0 }, status: error.status)
    }
}

/// A refused request: its status and one-line reason (`{"error": reason}`), and for the
/// answers a client acts on differently, a `code` in the body: `datapath_pending` (500:
/// saved, the datapath write is retried; do not repeat the request), `state_changed`
/// (409: an apply's plan is out of date).
public struct APIError: Error, Equatable, Sendable {
    public var status: HTTPResponseStatus
    public var message: String
    public var code: String?

    init(status: HTTPResponseStatus, message: String, code: String? = nil) {
        self.status = status
        self.message = message
        self.code = code
    }

    static func badRequest(_ message: String) -> APIError { APIError(status: .badRequest, message: message) }
    static func notFound(_ message: String) -> APIError { APIError(status: .notFound, message: message) }
    static func conflict(_ message: String) -> APIError { APIError(status: .conflict, message: message) }
    static func `internal`(_ message: String) -> APIError { APIError(status: .internalServerError, message: message) }
}
