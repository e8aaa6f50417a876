import Foundation

/// lbd's control API (`/v1/...`) over its unix socket: each endpoint's request is built
/// here (`…Request`), and sent on its own connection with one deadline for the whole
/// exchange. A response other than 2xx is `LBDClientError.refused` with lbd's
/// `{"error": ...}` text. `send` has an async face that runs the blocking exchange off
/// the caller's executor.
public struct LBDClient: Sendable {
    /// How long lbd has to answer one request, connection included.
    public static let defaultTimeout: Duration = .seconds(10)

    public let socketPath: String
    public let timeout: Duration

    public init(socketPath: String, timeout: Duration = defaultTimeout) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    /// `request` on a connection of its own, and lbd's response whatever its status.
    public func send(_ request: HTTPRequest) throws(LBDClientError) -> HTTPResponse {
        let timeout = timeout + request.window
        let deadline = ContinuousClock.now + timeout
        let connection = try UnixSocketConnection(path: socketPath, timeout: timeout, deadline: deadline)
        return try connection.exchange(request, keepAlive: false, deadline: deadline)
    }

    /// The body of lbd's 2xx answer to `request`.
    public func call(_ request: HTTPRequest) throws(LBDClientError) -> [UInt8] {
        let response = try send(request)
        guard response.isSuccess else {
            if let body = try? JSONDecoder().decode(ErrorResponse.self, from: Data(response.body)) {
                switch body.code {
                case ErrorCode.datapathPending: throw .datapathPending(body.error)
                case ErrorCode.stateChanged: throw .stateChanged(body.error)
                default: throw .refused(status: response.status, message: body.error)
                }
            }
            throw .refused(status: response.status,
                           message: "lbd answered \(request.method) \(request.target) with HTTP \(response.status)")
        }
        return response.body
    }

    /// lbd's 2xx answer to `request` as `type`, and as it sent it (what `lbctl --json` prints).
    public func answer<T: Decodable>(_ type: T.Type, to request: HTTPRequest) throws(LBDClientError) -> (value: T, body: [UInt8]) {
        let body = try call(request)
        return (try Self.decode(type, from: body, endpoint: String(request.target.prefix { $0 != "?" })), body)
    }

    // MARK: Requests, one per endpoint

    /// `GET /v1/services`: the desired state (`ServicesResponse`).
    public static func servicesRequest() -> HTTPRequest {
        .get("/v1/services")
    }

    /// `GET /v1/status`: services with health, ring shares and counters (`StatusResponse`),
    /// of one VIP's service with `vip`.
    public static func statusRequest(vip: String? = nil) -> HTTPRequest {
        .get("/v1/status" + (vip.map { "?vip=" + queryValue($0) } ?? ""))
    }

    /// `GET /v1/export`: the services as YAML that `/v1/apply` takes back.
    public static func exportRequest() -> HTTPRequest {
        .get("/v1/export")
    }

    /// `POST /v1/edit`: answered (`EditResponse`) once the edit is saved and in the maps.
    public static func editRequest(_ request: EditRequest) -> HTTPRequest {
        .post("/v1/edit", contentType: "application/json", body: APIEncoding.request(request))
    }

    /// What `/v1/apply` is told besides the file.
    public struct ApplyOptions: Sendable {
        public var dryRun: Bool
        /// Accept new VIPs on the addresses of lbd's host.
        public var force: Bool
        /// Remove the services the file does not have; false: lbd keeps them.
        public var prune: Bool
        /// Refused (`.stateChanged`) unless the services still have this version.
        public var ifVersion: String?

        public init(dryRun: Bool, force: Bool = false, prune: Bool = true, ifVersion: String? = nil) {
            self.dryRun = dryRun
            self.force = force
            self.prune = prune
            self.ifVersion = ifVersion
        }
    }

    /// `POST /v1/apply`: the plan (`ApplyResponse`) of making the services those of `yaml`,
    /// applied unless `options.dryRun`.
    public static func applyRequest(yaml: [UInt8], _ options: ApplyOptions) -> HTTPRequest {
        let target = "/v1/apply?dry_run=\(options.dryRun ? 1 : 0)&prune=\(options.prune ? 1 : 0)"
            + (options.force ? "&force=1" : "") + (options.ifVersion.map { "&if_version=" + queryValue($0) } ?? "")
        return .post(target, contentType: "application/yaml", body: yaml)
    }

    /// `POST /v1/node/drain` or `/v1/node/undrain`: the node's state after it (`NodeResponse`).
    public static func nodeRequest(drain: Bool) -> HTTPRequest {
        .post(drain ? "/v1/node/drain" : "/v1/node/undrain", contentType: "application/json", body: [])
    }

    /// `POST /v1/reload`: what the reload changed, once in force (`ReloadResponse`).
    public static func reloadRequest() -> HTTPRequest {
        .post("/v1/reload", contentType: "application/json", body: [])
    }

    /// `GET /v1/sources`: the client prefixes opening the most new flows (`SourcesResponse`),
    /// of one VIP with `vip`, grouped by `prefixV4`/`prefixV6` when given. lbd counts
    /// `seconds` between its two reads: the deadline grows by as much.
    public static func sourcesRequest(seconds: Int, limit: Int, vip: String? = nil,
                                      prefixV4: Int? = nil, prefixV6: Int? = nil) -> HTTPRequest {
        var query = ["seconds=\(seconds)", "limit=\(limit)"]
        if let vip { query.append("vip=" + vipQueryValue(vip)) }
        if let prefixV4 { query.append("prefix_v4=\(prefixV4)") }
        if let prefixV6 { query.append("prefix_v6=\(prefixV6)") }
        var request = HTTPRequest.get("/v1/sources?" + query.joined(separator: "&"))
        request.window = .seconds(seconds)
        return request
    }

    /// `POST /v1/capture`: a pcap file of the packets with `verdicts` (every one when
    /// empty), of one VIP with `vip`. lbd captures up to `seconds`: the deadline grows by as much.
    public static func captureRequest(count: Int, seconds: Int, sample: Int, snaplen: Int,
                                      verdicts: [String] = [], vip: String? = nil) -> HTTPRequest {
        var query = ["count=\(count)", "seconds=\(seconds)", "sample=\(sample)", "snaplen=\(snaplen)"]
        if !verdicts.isEmpty { query.append("verdict=" + verdicts.joined(separator: ",")) }
        if let vip { query.append("vip=" + vipQueryValue(vip)) }
        var request = HTTPRequest.post("/v1/capture?" + query.joined(separator: "&"), contentType: "application/json", body: [])
        request.window = .seconds(seconds)
        return request
    }

    // Two escapes of a query value, each what lbctl has always sent on its endpoints (lbd
    // decodes both): status and apply keep `:` as it is, sources and capture escape it.

    /// `text` percent-encoded for a query parameter's value (a VIP has brackets and a slash).
    private static func queryValue(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: ".:-"))) ?? text
    }

    /// `vip` with every character but RFC 3986's unreserved ones percent-encoded (`[`, `:`, `/`).
    private static func vipQueryValue(_ vip: String) -> String {
        vip.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? vip
    }

    /// `body` as `type`, or `.unreadable` naming the endpoint and what did not fit.
    public static func decode<T: Decodable>(_ type: T.Type, from body: [UInt8], endpoint: String) throws(LBDClientError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw .unreadable("lbd's answer to \(endpoint) is not what lbctl expects: \(summary(error))")
        }
    }

    /// A decoding error in one line: the JSON path and the problem.
    private static func summary(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return String(describing: error) }
        let (context, problem): (DecodingError.Context, String) = switch error {
        case .typeMismatch(let type, let context): (context, "expected \(type)")
        case .valueNotFound(let type, let context): (context, "expected \(type), found null")
        case .keyNotFound(let key, let context): (context, "missing key '\(key.stringValue)'")
        case .dataCorrupted(let context): (context, "not JSON")
        @unknown default: (DecodingError.Context(codingPath: [], debugDescription: ""), "\(error)")
        }
        let path = context.codingPath.reduce("") { path, key in
            if let index = key.intValue { return path + "[\(index)]" }
            return path.isEmpty ? key.stringValue : path + "." + key.stringValue
        }
        return path.isEmpty ? problem : "\(path): \(problem)"
    }
}

// MARK: The async face

extension LBDClient {
    public func send(_ request: HTTPRequest) async throws(LBDClientError) -> HTTPResponse {
        try await offload { () throws(LBDClientError) in try send(request) }
    }
}

extension UnixSocketConnection {
    public func exchange(_ request: HTTPRequest) async throws(LBDClientError) -> HTTPResponse {
        try await offload { () throws(LBDClientError) in try self.exchange(request) }
    }

    public func send(raw bytes: [UInt8]) async throws(LBDClientError) {
        try await offload { () throws(LBDClientError) in try self.send(raw: bytes) }
    }

    public func response() async throws(LBDClientError) -> HTTPResponse {
        try await offload { () throws(LBDClientError) in try self.response() }
    }

    public func isClosedByPeer() async -> Bool {
        (try? await offload { () throws(LBDClientError) in self.isClosedByPeer() }) ?? false
    }
}

/// Runs blocking socket I/O on a dispatch thread, so that it never holds one of the
/// few threads async code shares (an in-process lbd may need them to answer).
func offload<T: Sendable>(_ work: @escaping @Sendable () throws(LBDClientError) -> T) async throws(LBDClientError) -> T {
    let result: Result<T, LBDClientError> = await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(returning: Result { () throws(LBDClientError) -> T in try work() })
        }
    }
    return try result.get()
}
