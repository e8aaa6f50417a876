import Announce
import Balancer
import Foundation
import LBDAPI
import Logging
import NIOHTTP1

/// The control API, endpoint by endpoint, in the shapes of LBDAPI (the contract `lbctl`
/// is built against):
///
/// - `GET /v1/services` → `ServicesResponse`, each service as the state file encodes it,
///   and `version`, a digest of the services (`DesiredState.version`).
/// - `GET /v1/status[?vip=VIP]` → `StatusResponse`, of one VIP's service with `vip` (404
///   when there is none).
/// - `POST /v1/edit` (`EditRequest`) → `EditResponse` (`changed` false: the state already
///   was so, e.g. a retried request; `version` after it); 400 invalid, 404 unknown VIP or
///   backend, 409 exists with other settings: the state is unchanged. 500: the state file
///   could not be written (unchanged), or the edit is saved but a datapath write failed
///   (retried; `ErrorCode.datapathPending`).
/// - `POST /v1/apply?dry_run=1|0&prune=1|0&if_version=V`, a services YAML body →
///   `ApplyResponse`; 400 with `LINE:COL: message` lines for an invalid file. `prune=0`
///   keeps the services not in the file (listed in `kept`); 1, the default, removes them.
///   `if_version`: 409 (`ErrorCode.stateChanged`) unless the services still have that version.
/// - `GET /v1/export` → the services as YAML (`text/yaml`), accepted by apply.
/// - `GET /v1/sources?vip=&prefix_v4=&prefix_v6=&seconds=&limit=` → `SourcesResponse`: the
///   client prefixes opening the most new flows; 400 bad parameter, 404 VIP not installed.
/// - `POST /v1/capture?vip=&count=&seconds=&verdict=tx,pass,drop,miss,icmp&sample=&snaplen=`
///   → a pcap file (`application/vnd.tcpdump.pcap`) of the packets the balancer handled for
///   the VIP (`PacketCapture`); 409 while another capture runs.
/// - `POST /v1/node/drain`, `POST /v1/node/undrain` → `{"node":"draining"|"drained"|"active"}`:
///   withdraw this node's routes (kept across restarts) or announce them again; 409 when
///   the configuration has no `announce:`.
/// - `POST /v1/reload` → `{"changed":[…],"notes":[…]}` once the configuration file's
///   settings are in force (`Reloader`); 409 with the reason when refused, nothing changed.
/// - Anything else: 404 `{"error":"no such endpoint"}`.
public struct APIRouter: Sendable {
    let coordinator: EditCoordinator
    let status: StatusReporter
    /// nil: the configuration has no `announce:` section.
    let announcer: Announcer?
    let logger: Logger
    /// Serves `/v1/reload`; without one, there is no such endpoint.
    let reloader: Reloader?
    /// Serves `/v1/capture`; without one, there is no such endpoint.
    let capture: PacketCapture?

    public init(coordinator: EditCoordinator, status: StatusReporter, announcer: Announcer? = nil,
                logger: Logger = Logger(label: "lbd.api"), reloader: Reloader? = nil, capture: PacketCapture? = nil) {
        self.coordinator = coordinator
        self.status = status
        self.announcer = announcer
        self.logger = logger
        self.reloader = reloader
        self.capture = capture
    }

    public func handle(_ request: APIRequest) async -> APIResponse {
        let (path, query) = Self.split(request.uri)
        do {
            switch (request.method, path) {
            case (.GET, "/v1/services"):
                let (state, version) = await coordinator.versionedState
                var services = try ServicesResponse(state.sortedServices)
                services.version = version
                return .json(services)
            case (.GET, "/v1/status"):
                return try await statusReport(only: try QueryParameter.vip(query))
            case (.POST, "/v1/edit"):
                return try await edit(request.body)
            case (.POST, "/v1/apply"):
                return try await apply(request.body, query: query)
            case (.POST, "/v1/node/drain"):
                return try await node(drain: true)
            case (.POST, "/v1/node/undrain"):
                return try await node(drain: false)
            case (.GET, "/v1/sources"):
                return .json(try await status.sources(try SourcesQuery.parse(query)))
            case (.POST, "/v1/capture"):
                guard let capture else { throw APIError.notFound("no such endpoint") }
                return try await capture.capture(try CaptureRequest.parse(query))
            case (.GET, "/v1/export"):
                return APIResponse(status: .ok, contentType: "text/yaml", body: Data(await coordinator.state.yaml().utf8))
            case (.POST, "/v1/reload"):
                guard let reloader else { throw APIError.notFound("no such endpoint") }
                return try await reload(reloader)
            default:
                throw APIError.notFound("no such endpoint")
            }
        } catch let error as APIError {
            return .error(error)
        } catch {
            return .error(.internal("\(error)"))
        }
    }

    private func statusReport(only vip: VIPKey?) async throws(APIError) -> APIResponse {
        let report: StatusResponse
        do {
            report = try await status.report(only: vip)
        } catch {
            throw .internal("cannot read the datapath: \(error)")
        }
        if let vip, report.services.isEmpty { throw .notFound(EditError.unknownVIP(vip).description) }
        return .json(report)
    }

    private func edit(_ body: Data) async throws(APIError) -> APIResponse {
        let (edit, force) = try EditRequest.edit(from: body)
        do {
            let (changed, version) = try await coordinator.edit(edit, force: force)
            return .json(EditResponse(changed: changed, version: version))
        } catch {
            throw Self.apiError(error)
        }
    }

    private func node(drain: Bool) async throws(APIError) -> APIResponse {
        guard let announcer else {
            throw .conflict("this node announces nothing (no announce: section in the configuration): nothing to drain")
        }
        do {
            try await drain ? announcer.drain() : announcer.undrain()
        } catch {
            throw .internal("\(error)")
        }
        return .json(NodeResponse(node: await announcer.report().node))
    }

    private func reload(_ reloader: Reloader) async throws(APIError) -> APIResponse {
        switch await reloader.reload(trigger: "API") {
        case .applied(let changes, let notes): return .json(ReloadResponse(changed: changes, notes: notes))
        case .refused(let reason): throw .conflict(reason)
        }
    }

    private func apply(_ body: Data, query: [String: String]) async throws(APIError) -> APIResponse {
        let dryRun = try QueryParameter.flag(query, "dry_run", default: false)
        let force = try QueryParameter.flag(query, "force", default: false)
        let prune = try QueryParameter.flag(query, "prune", default: true)
        guard let text = String(data: body, encoding: .utf8) else { throw .badRequest("the body is not UTF-8 text") }
        let services: DesiredState
        do {
            services = try DesiredState(yaml: text, limits: await coordinator.limits)
        } catch {
            throw .badRequest(error.description)
        }
        do {
            let outcome = try await coordinator.apply(services, dryRun: dryRun, force: force, prune: prune,
                                                      expectedVersion: query["if_version"])
            let plan = outcome.plan
            return .json(ApplyResponse(plan: plan.description, added: plan.added.map(\.vip.description),
                                       removed: plan.removed.map(\.vip.description),
                                       changed: plan.changed.map(\.vip.description), applied: !dryRun,
                                       kept: outcome.kept.map(\.description), version: outcome.version))
        } catch {
            throw Self.apiError(error)
        }
    }

    /// Unknown things are 404, duplicates 409, other refusals 400; failures after
    /// validation are the daemon's, 500.
    static func apiError(_ failure: EditFailure) -> APIError {
        switch failure {
        case .refused(let error):
            switch error {
            case .unknownVIP, .unknownBackend, .unknownAddress: return .notFound(error.description)
            case .vipExists, .backendExists: return .conflict(error.description)
            case .invalid(let errors): return .badRequest(errors.map(\.description).joined(separator: "; "))
            }
        case .onHostAddress:
            return .conflict(failure.description)
        case .stateChanged:
            return APIError(status: .conflict, message: failure.description, code: ErrorCode.stateChanged)
        case .notSaved:
            return .internal(failure.description)
        case .notApplied:
            return APIError(status: .internalServerError, message: failure.description, code: ErrorCode.datapathPending)
        }
    }

    /// The path and the query parameters of a request target.
    static func split(_ uri: String) -> (path: String, query: [String: String]) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, [:]) }
        var query: [String: String] = [:]
        for pair in uri[uri.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
            query[key] = value
        }
        return (String(uri[..<mark]), query)
    }
}
