import Balancer

/// Which of this node's VIP addresses are announced, and why: a value, driven by what
/// the daemon observes and the time, so its rules are tested without BIRD or a clock.
///
/// Routes are per address (a /32 or /128): an address is announced while at least one
/// of its services can serve (`min_up` backends taking new flows). Every node has the
/// same services, so a service that cannot serve here cannot serve anywhere; withdrawing
/// its address would only take the healthy services on it down with it.
///
/// Hysteresis: a route is withdrawn as soon as its address cannot serve (the health
/// checks' `fall` already filtered flaps, and an announced VIP that cannot serve drops
/// flows), but announced again only once it has served for `announceDelay` without a
/// break, so a flapping backend costs one withdrawal rather than a route flap per cycle.
/// An address seen for the first time (start, new VIP) that can serve is announced at once.
public struct AnnouncementPolicy: Sendable {
    public typealias Instant = ContinuousClock.Instant

    public enum Reason: Equatable, Sendable, CustomStringConvertible {
        /// At least one service on the address has `min_up` backends up.
        case serving
        /// No service on the address has `min_up` backends up.
        case cannotServe
        /// It can serve again; announced at `until` if it keeps serving.
        case holdDown(until: Instant)
        /// `lbctl node drain` (or a stop): announced, tagged GRACEFUL_SHUTDOWN, until `until`.
        case draining(until: Instant)
        /// `lbctl node drain` (or a stop), done.
        case nodeDrained

        public var description: String {
            switch self {
            case .serving: "serving: min_up backends up"
            case .cannotServe: "cannot serve: fewer than min_up backends up in every service on this address"
            case .holdDown: "serving again: announced once announce_delay has passed without a failure"
            case .draining: "node draining: announced with the GRACEFUL_SHUTDOWN community until drain_time has passed"
            case .nodeDrained: "node drained"
            }
        }
    }

    public struct Route: Equatable, Sendable {
        public var announced: Bool
        public var reason: Reason
        /// When `announced` last changed (or the address was first seen).
        public var since: Instant
    }

    /// The node as a whole: serving, moving traffic away (routes tagged), or withdrawn.
    public enum Node: Equatable, Sendable {
        case active
        case draining(until: Instant)
        case drained
    }

    public let announceDelay: Duration
    public let drainTime: Duration
    /// Whether a drain first tags the routes (RFC 8326) for `drainTime`, or withdraws at once.
    public let gracefulShutdown: Bool
    public private(set) var routes: [IPAddress: Route] = [:]
    public private(set) var node: Node = .active

    public init(announceDelay: Duration, drainTime: Duration, gracefulShutdown: Bool, drained: Bool = false) {
        self.announceDelay = announceDelay
        self.drainTime = drainTime
        self.gracefulShutdown = gracefulShutdown
        node = drained ? .drained : .active
    }

    /// The addresses announced, in address order.
    public var announced: [IPAddress] { routes.filter(\.value.announced).keys.sorted() }

    /// Whether announced routes carry the GRACEFUL_SHUTDOWN community.
    public var tagged: Bool {
        if case .draining = node { return true }
        return false
    }

    /// Applies what can serve now (every VIP address of the desired state, true when at
    /// least one of its services can serve); returns the addresses whose announcement
    /// changed, in address order.
    @discardableResult
    public mutating func update(servable: [IPAddress: Bool], at now: Instant) -> [IPAddress] {
        if case .draining(let until) = node, now >= until { node = .drained }
        var changed: [IPAddress] = routes.keys.filter { servable[$0] == nil && routes[$0]!.announced }
        routes = routes.filter { servable[$0.key] != nil }
        for (address, canServe) in servable {
            let next = decide(routes[address], canServe: canServe, at: now)
            if next.announced != routes[address]?.announced ?? false { changed.append(address) }
            routes[address] = next
        }
        return changed.sorted()
    }

    /// Starts moving traffic away: tagged for `drainTime` if `gracefulShutdown`, else
    /// withdrawn at once (the caller waits `drainTime` after). Already draining: nothing.
    public mutating func drain(at now: Instant) {
        guard node == .active else { return }
        node = gracefulShutdown ? .draining(until: now + drainTime) : .drained
    }

    /// Back to announcing what can serve (an undrain is the operator's word: no hold-down).
    public mutating func undrain() {
        node = .active
    }

    /// The next time `update` would change something without a new observation.
    public var nextDeadline: Instant? {
        var deadlines = routes.values.compactMap { route -> Instant? in
            if case .holdDown(let until) = route.reason { return until }
            return nil
        }
        if case .draining(let until) = node { deadlines.append(until) }
        return deadlines.min()
    }

    private func decide(_ previous: Route?, canServe: Bool, at now: Instant) -> Route {
        func route(_ announced: Bool, _ reason: Reason) -> Route {
            Route(announced: announced, reason: reason,
                  since: previous.map { $0.announced == announced ? $0.since : now } ?? now)
        }
        switch node {
        case .drained:
            return route(false, .nodeDrained)
        case .draining(let until):
            return route(canServe && previous?.announced == true, canServe ? .draining(until: until) : .cannotServe)
        case .active:
            guard canServe else { return route(false, .cannotServe) }
            switch previous?.reason {
            case nil, .serving?:
                return route(true, .serving)
            case .holdDown(let until)? where now < until:
                return route(false, .holdDown(until: until))
            case .holdDown?:
                return route(true, .serving)
            case .cannotServe? where announceDelay > .zero:
                return route(false, .holdDown(until: now + announceDelay))
            case .cannotServe?, .draining?, .nodeDrained?:
                return route(true, .serving)
            }
        }
    }
}
