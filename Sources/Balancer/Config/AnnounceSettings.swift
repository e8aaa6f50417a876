/// The `announce:` section: this node announces the VIPs it can serve through the
/// node's BIRD 2 (lbd never speaks BGP itself). Absent, or `enabled: false`: lbd
/// announces nothing and never touches BIRD.
///
/// ```yaml
/// announce:
///   enabled: true
///   bird_socket: /run/bird/bird.ctl       # BIRD's control socket (birdc -s)
///   routes_file: /run/lbd/bird/vips.conf  # lbd writes it; bird.conf includes it
///   announce_delay: 10s                   # servable this long before a withdrawn VIP returns
///   drain_time: 10s                       # after withdrawing, before stopping
///   graceful_shutdown: true               # tag with GRACEFUL_SHUTDOWN (65535:0) first
///   med: 100                              # optional: bgp_med of every route
///   local_preference: 200                 # optional: bgp_local_pref (iBGP)
///   communities: ["65000:100"]            # optional: added to every route
/// ```
public struct AnnounceSettings: Equatable, Sendable {
    public static let defaultBirdSocket = "/run/bird/bird.ctl"
    public static let defaultRoutesFile = "/run/lbd/bird/vips.conf"
    public static let defaultAnnounceDelay: Duration = .seconds(10)
    public static let defaultDrainTime: Duration = .seconds(10)
    /// Long enough for any announce delay an operator wants; short enough that a typo
    /// (`10m` for `10s`) does not keep a VIP withdrawn for hours.
    public static let delayRange: ClosedRange<Duration> = .zero ... .seconds(3600)
    /// systemd/lbd.service gives a stop 30 s (TimeoutStopSec) before SIGKILL: a drain
    /// must end well before it.
    public static let drainTimeRange: ClosedRange<Duration> = .zero ... .seconds(20)

    public var birdSocket = defaultBirdSocket
    public var routesFile = defaultRoutesFile
    public var announceDelay = defaultAnnounceDelay
    public var drainTime = defaultDrainTime
    public var gracefulShutdown = true
    public var med: UInt32?
    public var localPreference: UInt32?
    public var communities: [BGPCommunity] = []

    public init() {}
}

/// A standard BGP community (RFC 1997), `ASN:VALUE`, each 0…65535.
public struct BGPCommunity: Hashable, Sendable, CustomStringConvertible {
    /// RFC 8326: the receiver lowers the route's preference, so traffic moves before
    /// the route is withdrawn.
    public static let gracefulShutdown = BGPCommunity(asn: 65535, value: 0)

    public let asn: UInt16
    public let value: UInt16

    public init(asn: UInt16, value: UInt16) {
        self.asn = asn
        self.value = value
    }

    public init(_ text: String) throws(ParseError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let asn = UInt16(parts[0]), let value = UInt16(parts[1]) else {
            throw ParseError("bad community '\(text)': expected ASN:VALUE, each 0 to 65535 (65000:100)")
        }
        self.init(asn: asn, value: value)
    }

    public var description: String { "\(asn):\(value)" }
}
