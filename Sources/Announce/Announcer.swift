#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Balancer
import Foundation
import Logging
import ServiceLifecycle

/// Keeps BIRD announcing exactly the VIP addresses this node can serve.
///
/// How lbd drives BIRD: it writes the routes to `routes_file` (atomically: a crash never
/// leaves BIRD half a file) and asks BIRD to `configure`. That is BIRD's conventional
/// interface (a static protocol, reconfigured in place, sessions kept up), it needs no
/// BGP code in lbd, and it survives either daemon restarting:
/// - BIRD restarting reads the file and announces what lbd last decided;
/// - lbd restarting rewrites the same content (its first decision comes from the state
///   it adopted from the maps), so BIRD sees no change; a killed lbd leaves the file, and
///   BIRD's routes, as they were — XDP keeps forwarding meanwhile.
///
/// A failed write or `configure` (BIRD down) is retried on the next round; BIRD started
/// later reads the file anyway. `stop()` (graceful shutdown) drains: see `AnnouncementPolicy`.
public actor Announcer: Service {
    /// Every VIP address of the desired state, true when one of its services can serve.
    public typealias Observe = @Sendable () async -> [IPAddress: Bool]

    /// How often what can serve is re-read: a withdrawal follows a failed check within it.
    static let round: Duration = .milliseconds(250)

    private let settings: AnnounceSettings
    private let drainMarker: String
    private let observe: Observe
    private let logger: Logger
    private let bird: BirdControl
    private var policy: AnnouncementPolicy
    /// The routes file as BIRD last accepted it; nil until then (and after a failure).
    private var configured: String?
    private var lastError: String?
    /// What could serve at the last round, and how often each route changed since start.
    private var servable: [IPAddress: Bool] = [:]
    private var changes: [IPAddress: Int] = [:]

    /// `drainMarker`: a file whose presence means the node stays drained across restarts.
    public init(settings: AnnounceSettings, drainMarker: String, logger: Logger,
                observe: @escaping Observe) {
        self.settings = settings
        self.drainMarker = drainMarker
        self.observe = observe
        self.logger = logger
        bird = BirdControl(socketPath: settings.birdSocket)
        policy = AnnouncementPolicy(announceDelay: settings.announceDelay, drainTime: settings.drainTime,
                                    gracefulShutdown: settings.gracefulShutdown,
                                    drained: access(drainMarker, F_OK) == 0)
    }

    public nonisolated func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.refresh()
                try? await Task.sleep(for: Self.round)
            }
        }
        await stop()
    }

    /// `lbctl node drain`: moves traffic away from this node and keeps it away, across
    /// restarts, until `undrain`.
    public func drain() async throws(StateStoreError) {
        try AtomicFile.replace(drainMarker, with: Data("drained by lbctl node drain\n".utf8),
                               temporaryPrefix: ".node-drained.tmp.")
        policy.drain(at: .now)
        logger.notice("node drain: moving traffic away", metadata: ["graceful_shutdown": "\(settings.gracefulShutdown)"])
        await refresh()
    }

    /// `lbctl node undrain`: announces again what can serve.
    public func undrain() async throws(StateStoreError) {
        guard unlink(drainMarker) == 0 || errno == ENOENT else {
            throw .io(operation: "remove", path: drainMarker, detail: String(cString: strerror(errno)))
        }
        policy.undrain()
        logger.notice("node undrain: announcing what can serve")
        await refresh()
    }

    /// The announcements as `lbctl status` shows them.
    public func report() -> AnnouncementReport {
        let node: String = switch policy.node {
        case .active: "active"
        case .draining: "draining"
        case .drained: "drained"
        }
        return AnnouncementReport(node: node, birdError: lastError, routes: Dictionary(uniqueKeysWithValues:
            policy.routes.map { address, route in
                (address, .init(announced: route.announced, servable: servable[address] ?? false,
                                reason: route.reason.description, changes: changes[address] ?? 0))
            }))
    }

    /// Graceful shutdown: tagged for `drain_time` then withdrawn, or withdrawn then
    /// `drain_time` (no community); lbd stops after. Nothing announced: stops at once.
    func stop() async {
        guard !policy.announced.isEmpty else { return }
        logger.notice("stopping: withdrawing this node's routes first", metadata: [
            "routes": "\(policy.announced.count)", "drain_time": "\(settings.drainTime)",
        ])
        policy.drain(at: .now)
        await refresh()
        while policy.node != .drained {
            try? await Task.sleep(until: policy.nextDeadline ?? .now, clock: .continuous)
            await refresh()
        }
        if !settings.gracefulShutdown { try? await Task.sleep(for: settings.drainTime) }
        logger.notice("routes withdrawn; stopping")
    }

    /// Observes, decides, and hands BIRD the routes if they changed (or it has not taken them).
    func refresh() async {
        servable = await observe()
        for address in policy.update(servable: servable, at: .now) {
            let route = policy.routes[address]
            changes[address, default: 0] += 1
            logger.notice(route?.announced == true ? "route announced" : "route withdrawn", metadata: [
                "vip": "\(address)", "reason": "\(route?.reason.description ?? "no VIP on this address")",
            ])
        }
        let content = BirdRoutes.render(policy.announced, settings: settings, tagged: policy.tagged)
        guard content != configured else { return }
        do {
            try write(content)
            try bird.configure()
            configured = content
            if lastError != nil { logger.notice("BIRD took the routes", metadata: ["socket": "\(settings.birdSocket)"]) }
            lastError = nil
        } catch {
            configured = nil
            if lastError != "\(error)" {
                logger.error("routes not yet in BIRD (retrying)", metadata: ["error": "\(error)"])
            }
            lastError = "\(error)"
        }
    }

    private func write(_ content: String) throws(AnnounceError) {
        let directory = (settings.routesFile as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            if (try? String(contentsOfFile: settings.routesFile, encoding: .utf8)) == content { return }
        } catch {
            throw .file(.io(operation: "create directory", path: directory, detail: error.localizedDescription))
        }
        do {
            try AtomicFile.replace(settings.routesFile, with: Data(content.utf8), temporaryPrefix: ".vips.conf.tmp.")
        } catch {
            throw .file(error)
        }
    }
}

/// Why the routes did not reach BIRD.
enum AnnounceError: Error, CustomStringConvertible {
    case file(StateStoreError)

    var description: String {
        switch self {
        case .file(let error): "cannot write the routes file: \(error)"
        }
    }
}

/// Each VIP address's announcement, and the node's.
public struct AnnouncementReport: Equatable, Sendable {
    public struct Route: Equatable, Sendable {
        public var announced: Bool
        /// Whether one of the address's services could serve at the last look.
        public var servable: Bool
        public var reason: String
        /// Announcements plus withdrawals since lbd started.
        public var changes: Int
    }

    /// `active`, `draining` or `drained`.
    public var node: String
    /// The last failure to hand BIRD the routes; nil when it has them.
    public var birdError: String?
    public var routes: [IPAddress: Route]
}
