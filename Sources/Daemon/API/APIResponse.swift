import Foundation
import LBDAPI
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
        APIResponse(status: status, contentType: "application/json", body: APIEncoding.answer(value))
    }

    static func error(_ error: APIError) -> APIResponse {
        json(ErrorResponse(error: error.message), status: error.status)
    }
}

/// A refused request: its status and one-line reason (`ErrorResponse`).
public struct APIError: Error, Equatable, Sendable {
    public var status: HTTPResponseStatus
    public var message: String

    static func badRequest(_ message: String) -> APIError { APIError(status: .badRequest, message: message) }
    static func notFound(_ message: String) -> APIError { APIError(status: .notFound, message: message) }
    static func conflict(_ message: String) -> APIError { APIError(status: .conflict, message: message) }
    static func `internal`(_ message: String) -> APIError { APIError(status: .internalServerError, message: message) }
}
