#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import NIOPosix

/// Runs one check against a target and reports what it saw. A prober never throws: a
/// failure is a result, with its reason; it returns by the target's timeout.
public protocol Prober: Sendable {
    func probe(_ target: HealthTarget) async -> ProbeResult
}

/// The prober for every check type: TCP for `tcp`, HTTP for `http` and `https`.
///
/// One instance per monitor: its event loop group and TLS contexts are shared by all
/// checks instead of being set up per check.
public struct StandardProber: Prober {
    private let tcp: TCPProber
    private let http: HTTPProber

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        tcp = TCPProber(group: group)
        http = HTTPProber(group: group)
    }

    public func probe(_ target: HealthTarget) async -> ProbeResult {
        switch target.definition.type {
        case .tcp: await tcp.probe(target)
        case .http, .https: await http.probe(target)
        case .none: ProbeResult(.success(.notChecked), latency: .zero, at: .now)
        }
    }
}

/// Success when the TCP handshake completes within the timeout; the connection is then
/// closed without sending anything.
public struct TCPProber: Prober {
    private let group: any EventLoopGroup

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.group = group
    }

    public func probe(_ target: HealthTarget) async -> ProbeResult {
        await ChannelProbe.run(group: group, address: target.socketAddress, timeout: target.definition.timeout)
    }
}
