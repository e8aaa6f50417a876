import Balancer
import Foundation
import Logging
import NIOHTTP1

/// `GET /metrics` on `metrics_listen`, and nothing else: every other path is 404, every
/// other method 405. Read-only, so it may listen where Prometheus reaches it.
enum MetricsEndpoint {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func bind(_ listen: ListenAddress, collector: MetricsCollector,
                     logger: Logger = Logger(label: "lbd.metrics")) async throws(StartupFailure) -> APIServer {
        do {
            let server = try await APIServer.bind(host: listen.address.description, port: Int(listen.port),
                                                  limits: .metrics, logger: logger) {
                await answer($0, collector: collector, logger: logger)
            }
            logger.info("metrics listening", metadata: ["address": "\(listen)"])
            return server
        } catch {
            throw StartupFailure("cannot listen on metrics_listen \(listen): \(error)")
        }
    }

    static func answer(_ request: APIRequest, collector: MetricsCollector, logger: Logger) async -> APIResponse {
        guard request.uri == "/metrics" || request.uri.hasPrefix("/metrics?") else {
            return plain(.notFound, "only /metrics is served here\n")
        }
        guard request.method == .GET else { return plain(.methodNotAllowed, "GET only\n") }
        do {
            return APIResponse(status: .ok, contentType: contentType, body: Data(try await collector.scrape()))
        } catch {
            logger.error("scrape failed", metadata: ["error": "\(error)"])
            return plain(.internalServerError, "scrape failed: \(error)\n")
        }
    }

    private static func plain(_ status: HTTPResponseStatus, _ text: String) -> APIResponse {
        APIResponse(status: status, contentType: "text/plain; charset=utf-8", body: Data(text.utf8))
    }
}
