import Foundation

/// lbd's control API (`/v1/...`) over its unix socket, one call per endpoint, each
/// request on its own connection with one deadline for the whole exchange. A response
/// other than 2xx is `LBDClientError.refused` with lbd's `{"error": ...}` text. `send`
/// has an async face that runs the blocking exchange off the caller's executor.
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

    // MARK: Endpoints

    /// `GET /v1/services`: the desired state.
    public func services() throws(LBDClientError) -> ServicesResponse {
        try Self.decode(ServicesResponse.self, from: try call(.get("/v1/services")), endpoint: "/v1/services")
    }

    /// `GET /v1/status`: services with health, ring shares and counters.
    public func status() throws(LBDClientError) -> StatusResponse {
        try Self.decode(StatusResponse.self, from: try call(Self.statusRequest()), endpoint: "/v1/status")
    }

    /// `POST /v1/edit`: returns once the edit is saved and in the maps.
    @discardableResult
    public func edit(_ request: EditRequest) throws(LBDClientError) -> EditResponse {
        try Self.decode(EditResponse.self, from: try call(Self.editRequest(request)), endpoint: "/v1/edit")
    }

    /// The plan of making the services those of `yaml`, applied unless `options.dryRun`.
    public func apply(yaml: [UInt8], _ options: ApplyOptions) throws(LBDClientError) -> ApplyResponse {
        try Self.decode(ApplyResponse.self, from: try call(Self.applyRequest(yaml: yaml, options)), endpoint: "/v1/apply")
    }

    // MARK: Requests (for a caller that wants the answer's bytes too, as `lbctl --json`)

    /// What `apply` sends besides the file.
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

    /// `GET /v1/status`, of one VIP's service with `vip`.
    public static func statusRequest(vip: String? = nil) -> HTTPRequest {
        .get("/v1/status" + (vip.map { "?vip=" + queryValue($0) } ?? ""))
    }

    public static func editRequest(_ request: EditRequest) -> HTTPRequest {
        .post("/v1/edit", contentType: "application/json", body: APIEncoding.request(request))
    }

    public static func applyRequest(yaml: [UInt8], _ options: ApplyOptions) -> HTTPRequest {
        let target = "/v1/apply?dry_run=\(options.dryRun ? 1 : 0)&prune=\(options.prune ? 1 : 0)"
            + (options.force ? "&force=1" : "") + (options.ifVersion.map { "&if_version=" + queryValue($0) } ?? "")
        return .post(target, contentType: "application/yaml", body: yaml)
    }

    /// `text` percent-encoded for a query parameter's value (a VIP has brackets and a slash).
    private static func queryValue(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: ".:-"))) ?? text
    }

    /// `GET /v1/export`: the services as YAML that `apply` takes back.
    public func export() throws(LBDClientError) -> [UInt8] {
        try call(.get("/v1/export"))
    }

    /// `POST /v1/node/drain` or `/v1/node/undrain`.
    public func node(drain: Bool) throws(LBDClientError) -> NodeResponse {
        let endpoint = drain ? "/v1/node/drain" : "/v1/node/undrain"
        let body = try call(.post(endpoint, contentType: "application/json", body: []))
        return try Self.decode(NodeResponse.self, from: body, endpoint: endpoint)
    }

    /// `POST /v1/reload`: what the reload changed, once in force.
    public func reload() throws(LBDClientError) -> ReloadResponse {
        let body = try call(.post("/v1/reload", contentType: "application/json", body: []))
        return try Self.decode(ReloadResponse.self, from: body, endpoint: "/v1/reload")
    }

    /// `GET /v1/sources?query`: the client prefixes opening the most new flows, as JSON.
    /// lbd counts `seconds` between its two reads: the deadline grows by as much.
    public func sources(query: String, seconds: Int) throws(LBDClientError) -> [UInt8] {
        try LBDClient(socketPath: socketPath, timeout: timeout + .seconds(seconds)).call(.get("/v1/sources?" + query))
    }

    /// `POST /v1/capture?query`: a pcap file. lbd captures up to `seconds`: the deadline
    /// grows by as much.
    public func capture(query: String, seconds: Int) throws(LBDClientError) -> [UInt8] {
        try LBDClient(socketPath: socketPath, timeout: timeout + .seconds(seconds))
            .call(.post("/v1/capture?" + query, contentType: "application/json", body: []))
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
