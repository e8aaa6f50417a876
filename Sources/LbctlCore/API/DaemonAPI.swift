import Foundation

/// lbd's control API (`/v1/...`), one call per endpoint. A response other than 2xx
/// becomes `Failure.daemon` with lbd's `{"error": ...}` text.
struct DaemonAPI: Sendable {
    let client: UnixSocketHTTPClient

    /// `GET /v1/services`: the desired state, as JSON.
    func services() throws(Failure) -> [UInt8] {
        try call(.get("/v1/services"))
    }

    /// `GET /v1/status`: services with health, ring shares and counters, as JSON.
    func status() throws(Failure) -> [UInt8] {
        try call(.get("/v1/status"))
    }

    func edit(_ request: EditRequest) throws(Failure) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings and integers always encode.
        let body = (try? encoder.encode(request)).map(Array.init) ?? []
        _ = try call(.post("/v1/edit", contentType: "application/json", body: body))
    }

    /// The plan of replacing the services by `yaml`, applied unless `dryRun`; `force`
    /// accepts new VIPs on the addresses of lbd's host.
    func apply(yaml: [UInt8], dryRun: Bool, force: Bool = false) throws(Failure) -> ApplyResponse {
        let target = "/v1/apply?dry_run=\(dryRun ? 1 : 0)" + (force ? "&force=1" : "")
        let body = try call(.post(target, contentType: "application/yaml", body: yaml))
        return try Self.decode(ApplyResponse.self, from: body, endpoint: "/v1/apply")
    }

    /// `GET /v1/export`: the services as YAML that `apply` takes back.
    func export() throws(Failure) -> [UInt8] {
        try call(.get("/v1/export"))
    }

    /// `POST /v1/node/drain` or `/v1/node/undrain`: the node's announcement state after it.
    func node(drain: Bool) throws(Failure) -> NodeResponse {
        let endpoint = drain ? "/v1/node/drain" : "/v1/node/undrain"
        let body = try call(.post(endpoint, contentType: "application/json", body: []))
        return try Self.decode(NodeResponse.self, from: body, endpoint: endpoint)
    }

    /// `POST /v1/reload`: what the reload changed, once in force.
    func reload() throws(Failure) -> ReloadResponse {
        try Self.decode(ReloadResponse.self, from: try call(.post("/v1/reload", contentType: "application/json", body: [])),
                        endpoint: "/v1/reload")
    }

    /// `GET /v1/sources?query`: the client prefixes opening the most new flows, as JSON.
    /// lbd waits `seconds` between its two reads: the deadline grows by as much.
    func sources(query: String, seconds: Int) throws(Failure) -> [UInt8] {
        let patient = DaemonAPI(client: UnixSocketHTTPClient(path: client.path, timeout: client.timeout + .seconds(seconds)))
        return try patient.call(.get("/v1/sources?" + query))
    }

    /// `POST /v1/capture?query`: a pcap file. lbd captures up to `seconds`: the deadline
    /// grows by as much.
    func capture(query: String, seconds: Int) throws(Failure) -> [UInt8] {
        let patient = DaemonAPI(client: UnixSocketHTTPClient(path: client.path, timeout: client.timeout + .seconds(seconds)))
        return try patient.call(.post("/v1/capture?" + query, contentType: "application/json", body: []))
    }

    /// `body` as `type`, or a `Failure.daemon` naming the endpoint and what did not fit.
    static func decode<T: Decodable>(_ type: T.Type, from body: [UInt8], endpoint: String) throws(Failure) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw .daemon("lbd's answer to \(endpoint) is not what lbctl expects: \(Self.summary(error))")
        }
    }

    // MARK: Private

    private struct ErrorBody: Decodable {
        let error: String
    }

    private func call(_ request: HTTPRequest) throws(Failure) -> [UInt8] {
        let response = try client.send(request)
        guard response.isSuccess else {
            if let body = try? JSONDecoder().decode(ErrorBody.self, from: Data(response.body)) {
                throw .daemon(body.error)
            }
            throw .daemon("lbd answered \(request.method) \(request.target) with HTTP \(response.status)")
        }
        return response.body
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
