import Balancer
@testable import Daemon
import Foundation
import LBDAPI
import HealthCheck
import Logging
import TestDoubles
import TestSupport
import XCTest

/// The API and metrics servers do not trust their clients (issue #18, item 9): an
/// oversized body is refused before it is read, connections beyond the cap are closed,
/// slow clients are cut off, and a scrape does not wait for the reconciler.
final class ServerLimitsTests: XCTestCase {
    private static let limits = ServerLimits(maxBodyBytes: 1024, maxConnections: 4, idleTimeout: .seconds(1),
                                             readTimeout: .seconds(1))
    private var harness: APIHarness!
    private var path = ""
    private var server: Task<Void, any Error>?

    override func setUp() async throws {
        harness = try await APIHarness(self, services: "services: []")
        path = harness.directory + "/limited.sock"
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let router = APIRouter(coordinator: harness.coordinator, status: StatusReporter(
            coordinator: harness.coordinator, reconciler: harness.reconciler,
            readings: InMemoryDatapathReadings(datapath: harness.datapath), ringSize: 1009), logger: logger)
        let limited = try await APIServer.bind(path: path, router: router, limits: Self.limits, logger: logger)
        server = Task { try await limited.run() }
    }

    override func tearDown() async throws {
        server?.cancel()
        _ = try? await server?.value
        try await harness?.stop()
        harness = nil
    }

    private func connect(timeout: Duration = .seconds(5)) throws -> UnixSocketConnection {
        try UnixSocketConnection(path: path, timeout: timeout)
    }

    /// The Content-Length alone gets the 413: the server does not wait for the body.
    func testAnOversizedBodyIsRefusedBeforeItIsSent() async throws {
        let client = try connect()
        try await client.send(raw: Array("POST /v1/apply?dry_run=1 HTTP/1.1\r\nHost: lbd\r\nContent-Length: 1025\r\n\r\n".utf8))
        let response = try await client.response()
        XCTAssertEqual(response.status, 413)
        XCTAssertEqual(try json(response.body)["error"] as? String, "the body exceeds 1024 bytes")
        let closed = await client.isClosedByPeer()
        XCTAssertTrue(closed)
        // A body within the limit is still read and answered.
        let fits = try await LBDClient(socketPath: path).send(.post("/v1/apply?dry_run=1", yaml: "services: []"))
        XCTAssertEqual(fits.status, 200)
    }

    /// Chunked, with no length given: refused once the bytes received pass the limit.
    func testAChunkedBodyIsRefusedWhenItPassesTheLimit() async throws {
        let client = try connect()
        let chunk = String(repeating: "#", count: 800)
        try await client.send(raw: Array(("POST /v1/apply?dry_run=1 HTTP/1.1\r\nHost: lbd\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "320\r\n\(chunk)\r\n320\r\n\(chunk)\r\n").utf8))
        let response = try await client.response()
        XCTAssertEqual(response.status, 413)
        let closed = await client.isClosedByPeer()
        XCTAssertTrue(closed)
    }

    /// The fifth connection is closed at once while four are open; one of them closing
    /// makes room again.
    func testConnectionsBeyondTheCapAreClosed() async throws {
        var open = try (0..<4).map { _ in try connect() }
        for client in open {
            let response = try await client.exchange(.get("/v1/services"))
            XCTAssertEqual(response.status, 200)
        }
        let fifth = try connect()
        let refused = await fifth.isClosedByPeer()
        XCTAssertTrue(refused, "a fifth connection was served")
        open.removeFirst()
        try await waitFor("a connection served once one closed", every: .milliseconds(20)) { (try? await LBDClient(socketPath: self.path, timeout: .seconds(5)).send(.get("/v1/services")))?.status == 200 }
        withExtendedLifetime(open) {}
    }

    /// A connection that sends nothing, and one that stops half-way through its body,
    /// are closed (idle and read timeouts of 1 s; checked loosely, within 10 s).
    func testSlowClientsAreCutOff() async throws {
        let silent = try connect(timeout: .seconds(10))
        let stalled = try connect(timeout: .seconds(10))
        try await stalled.send(raw: Array("POST /v1/apply?dry_run=1 HTTP/1.1\r\nHost: lbd\r\nContent-Length: 100\r\n\r\nservices".utf8))
        let silentClosed = await silent.isClosedByPeer()
        let stalledClosed = await stalled.isClosedByPeer()
        XCTAssertTrue(silentClosed, "an idle connection stayed open")
        XCTAssertTrue(stalledClosed, "a request cut short kept its connection")
    }

    /// A scrape answers from what the reconciler last published while a pass is stuck
    /// in a map write, instead of waiting for it.
    func testAScrapeDoesNotWaitForTheReconciler() async throws {
        let limits = APIHarness.limits
        let datapath = InMemoryDatapath(limits: limits)
        let gate = WriteGate(datapath)
        let reconciler = Reconciler(writer: gate, limits: limits)
        try await reconciler.apply(DesiredState(yaml: "services:\n  - vip: 10.0.0.10:80/tcp\n", limits: limits))
        let state = try DesiredState(yaml: "services:\n  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 192.0.2.11 } ]\n",
                                     limits: limits)
        let store = StateStore(directory: harness.directory + "/scrape-state")
        let coordinator = EditCoordinator(state: state, limits: limits, store: store, reconciler: reconciler,
                                          logger: Logger(label: "test"))
        let collector = MetricsCollector(
            events: ControlPlaneMetrics(), coordinator: coordinator, reconciler: reconciler,
            health: HealthSupervisor(monitor: HealthMonitor(), reconciler: reconciler),
            readings: InMemoryDatapathReadings(datapath: datapath))
        gate.close()
        let pass = Task { try await reconciler.apply(state) }
        try await waitFor("the reconcile pass held by the writer", every: .milliseconds(20)) { gate.isHolding }
        let release = Task {
            try await Task.sleep(for: .seconds(10))
            gate.open()
        }
        let scrape = String(decoding: try await collector.scrape(), as: UTF8.self)
        let answeredWhileStuck = gate.isHolding
        gate.open()
        release.cancel()
        _ = try await pass.value
        XCTAssertTrue(answeredWhileStuck, "the scrape waited for the reconcile pass")
        XCTAssertTrue(scrape.contains(#"lbd_vip_backends{vip="10.0.0.10:80/tcp"} 1"#), scrape)
        XCTAssertTrue(scrape.contains(#"lbd_reconciles_total 1"#), scrape)
    }
}

/// A writer that blocks its caller in `setBackend` while closed: a reconcile pass stuck
/// in a map write.
private final class WriteGate: DatapathWriter, @unchecked Sendable {
    private let base: InMemoryDatapath
    private let condition = NSCondition()
    private var closed = false
    private var holding = false

    init(_ base: InMemoryDatapath) {
        self.base = base
    }

    var isHolding: Bool { condition.withLock { holding } }

    func close() { condition.withLock { closed = true } }

    func open() {
        condition.withLock {
            closed = false
            condition.broadcast()
        }
    }

    func setBackend(index: UInt32, address: IPAddress, up: Bool, generation: UInt16) throws {
        condition.withLock {
            holding = true
            while closed { condition.wait() }
            holding = false
        }
        try base.setBackend(index: index, address: address, up: up, generation: generation)
    }

    func clearBackend(index: UInt32, generation: UInt16) throws {
        try base.clearBackend(index: index, generation: generation)
    }

    func writeRing(vipIndex: UInt32, ring: UInt32, slots: [UInt32], changedSlots: [Int]?) throws {
        try base.writeRing(vipIndex: vipIndex, ring: ring, slots: slots, changedSlots: changedSlots)
    }

    func installVIP(_ vip: VIPKey, index: UInt32, info: VIPInfo) throws {
        try base.installVIP(vip, index: index, info: info)
    }

    func removeVIP(_ vip: VIPKey) throws { try base.removeVIP(vip) }

    func writeQUICServers(vipIndex: UInt32, vipGeneration: UInt32, servers: [UInt32: QUICServer]) throws {
        try base.writeQUICServers(vipIndex: vipIndex, vipGeneration: vipGeneration, servers: servers)
    }
}
