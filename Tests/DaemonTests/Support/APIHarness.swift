import Balancer
import Daemon
import Foundation
import LBDAPI
import Logging
import ServiceLifecycle
import TestDoubles
import XCTest

/// The daemon's API, edit coordinator and reconciler in-process, over an in-memory
/// datapath and a temporary state directory, served on a temporary unix socket by the
/// real server under a ServiceGroup.
final class APIHarness: @unchecked Sendable {
    static let limits = Limits(maxVIPs: 8, maxBackends: 16, ringSize: 1009, connectionTable: 1024, backendFamilies: [.v4])

    let directory: String
    let socketPath: String
    let store: StateStore
    let datapath = InMemoryDatapath(limits: APIHarness.limits)
    let reconciler: Reconciler
    let coordinator: EditCoordinator
    let server: APIServer
    private let group: ServiceGroup
    private let running: Task<Void, any Error>

    init(_ test: XCTestCase, services yaml: String) async throws {
        directory = try temporaryDirectory(test)
        socketPath = directory + "/run/lbd.sock"
        store = StateStore(directory: directory + "/state")
        let state = try DesiredState(yaml: yaml, limits: Self.limits)
        try store.save(state)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        reconciler = Reconciler(writer: datapath, limits: Self.limits, logger: logger)
        try await reconciler.apply(state)
        coordinator = EditCoordinator(state: state, limits: Self.limits, store: store, reconciler: reconciler, logger: logger)
        let status = StatusReporter(coordinator: coordinator, reconciler: reconciler,
                                    readings: InMemoryDatapathReadings(datapath: datapath), ringSize: Self.limits.ringSize)
        server = try await APIServer.bind(path: socketPath,
                                          router: APIRouter(coordinator: coordinator, status: status, logger: logger),
                                          logger: logger)
        group = ServiceGroup(services: [server], logger: logger)
        running = Task { [group] in try await group.run() }
    }

    /// Graceful shutdown, as on SIGTERM; returns once the server has stopped.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await running.value
    }

    /// lbctl's client: each request on its own connection.
    func client() -> LBDClient {
        LBDClient(socketPath: socketPath)
    }

    /// One connection for several requests (keep-alive).
    func connection() throws -> UnixSocketConnection {
        try UnixSocketConnection(path: socketPath, timeout: LBDClient.defaultTimeout)
    }

    var stateFile: Data {
        get throws { try Data(contentsOf: URL(fileURLWithPath: store.path)) }
    }
}

/// A JSON text parsed, for comparisons that do not depend on key order or spacing.
func json(_ text: String) throws -> NSDictionary {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary, "not a JSON object: \(text)")
}

/// A JSON body parsed.
func json(_ body: [UInt8]) throws -> NSDictionary {
    try json(String(decoding: body, as: UTF8.self))
}
