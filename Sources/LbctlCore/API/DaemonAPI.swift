import Balancer
import Foundation

/// lbd's control API (`/v1/...`), one call per endpoint. A response other than 2xx
/// becomes a `Failure` with lbd's `{"error": ...}` text: `.daemon`, or the case its
/// `code` names.
struct DaemonAPI: Sendable {
    let client: UnixSocketHTTPClient

    /// `GET /v1/services`: the desired state, as JSON.
    func services() throws(Failure) -> [UInt8] {
        try call(.get("/v1/services"))
    }

    /// `GET /v1/status`: services with health, ring shares and counters, as JSON; only
    /// `vip`'s when given (lbd answers 404 when it has no such VIP).
    func status(vip: VIPKey? = nil) throws(Failure) -> [UInt8] {
        try call(.get("/v1/status" + (vip.map { "?vip=" + Self.queryValue($0.description) } ?? "")))
    }

    /// lbd's answer, decoded and as sent (for `--json`).
    func edit(_ request: EditRequest) throws(Failure) -> (response: EditResponse, body: [UInt8]) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings and integers always encode.
        let body = (try? encoder.encode(request)).map(Array.init) ?? []
        let answer = try call(.post("/v1/edit", contentType: "application/json", body: body))
        return (try Self.decode(EditResponse.self, from: answer, endpoint: "/v1/edit"), answer)
    }

    /// What `apply` sends besides the file.
    struct ApplyOptions {
        var dryRun: Bool
        /// Accept new VIPs on the addresses of lbd's host.
        var force = false
        /// Remove the services the file does not have (else lbd keeps them).
        var prune = false
        /// Refused unless the services still have this version (the plan's).
        var ifVersion: String?
    }

    /// The plan of making the services those of `yaml`, applied unless dry: lbd's answer,
    /// decoded and as sent.
    func apply(yaml: [UInt8], _ options: ApplyOptions) throws(Failure) -> (response: ApplyResponse, body: [UInt8]) {
        let target = "/v1/apply?dry_run=\(options.dryRun ? 1 : 0)&prune=\(options.prune ? 1 : 0)"
            + (options.force ? "&force=1" : "") + (options.ifVersion.map { "&if_version=" + Self.queryValue($0) } ?? "")
        let body = try call(.post(target, contentType: "application/yaml", body: yaml))
        return (try Self.decode(ApplyResponse.self, from: body, endpoint: "/v1/apply"), body)
    }

    /// `GET /v1/export`: the services as YAML that `apply` takes back.
    func export() throws(Failure) -> [UInt8] {
        try call(.get("/v1/export"))
    }

    /// `POST /v1/node/drain` or `/v1/node/undrain`: the node's announcement state after it.
    func node(drain: Bool) throws(Failure) -> (response: NodeResponse, body: [UInt8]) {
        let endpoint = drain ? "/v1/node/drain" : "/v1/node/undrain"
        let body = try call(.post(endpoint, contentType: "application/json", body: []))
        return (try Self.decode(NodeResponse.self, from: body, endpoint: endpoint), body)
    }

    /// `POST /v1/reload`: what the reload changed, once in force.
    func reload() throws(Failure) -> (response: ReloadResponse, body: [UInt8]) {
        let body = try call(.post("/v1/reload", contentType: "application/json", body: []))
        return (try Self.decode(ReloadResponse.self, from: body, endpoint: "/v1/reload"), body)
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
        /// What kind of failure, for those a client acts on differently.
        let code: String?

        var failure: Failure {
            switch code {
            case "datapath_pending": .datapathPending(error)
            case "state_changed": .stateChanged(error)
            default: .daemon(error)
            }
        }
    }

    /// `text` percent-encoded for a query parameter's value (a VIP has brackets and a slash).
    private static func queryValue(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: ".:-"))) ?? text
    }

    private func call(_ request: HTTPRequest) throws(Failure) -> [UInt8] {
        let response = try client.send(request)
        guard response.isSuccess else {
            if let body = try? JSONDecoder().decode(ErrorBody.self, from: Data(response.body)) {
                throw body.failure
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
