import HealthCheck
import Yams

/// Reads the configuration's `announce:` section into `AnnounceSettings`.
enum AnnounceYAML {
    static let keys = ["enabled", "bird_socket", "routes_file", "announce_delay", "drain_time", "graceful_shutdown",
                       "med", "local_preference", "communities"]

    /// The settings; nil when announcing is off or anything was reported.
    static func read(_ node: Node, into reader: inout YAMLReader) -> AnnounceSettings? {
        let errors = reader.errors.count
        guard let fields = reader.mapping(node, name: "announce", allowed: keys) else { return nil }
        var settings = AnnounceSettings()
        var enabled = true
        if let node = fields["enabled"], let value = reader.boolean(node, key: "announce.enabled") { enabled = value }
        if let node = fields["bird_socket"], let path = reader.value(node, key: "announce.bird_socket",
                                                                      ConfigurationYAML.socketPath) {
            settings.birdSocket = path
        }
        if let node = fields["routes_file"], let path = reader.value(node, key: "announce.routes_file", routesFile) {
            settings.routesFile = path
        }
        if let node = fields["announce_delay"], let delay = reader.value(node, key: "announce.announce_delay", {
            text throws(ParseError) in try duration(text, in: AnnounceSettings.delayRange)
        }) {
            settings.announceDelay = delay
        }
        if let node = fields["drain_time"], let time = reader.value(node, key: "announce.drain_time", {
            text throws(ParseError) in try duration(text, in: AnnounceSettings.drainTimeRange)
        }) {
            settings.drainTime = time
        }
        if let node = fields["graceful_shutdown"], let value = reader.boolean(node, key: "announce.graceful_shutdown") {
            settings.gracefulShutdown = value
        }
        settings.med = fields["med"].flatMap { reader.value($0, key: "announce.med", attribute) }
        settings.localPreference = fields["local_preference"].flatMap {
            reader.value($0, key: "announce.local_preference", attribute)
        }
        if let node = fields["communities"], let list = reader.sequence(node, name: "announce.communities") {
            settings.communities = list.compactMap { reader.value($0, key: "announce.communities", BGPCommunity.init) }
        }
        return enabled && reader.errors.count == errors ? settings : nil
    }

    /// BIRD parses the file it includes: a path of plain characters, absolute, ending `.conf`.
    static func routesFile(_ text: String) throws(ParseError) -> String {
        let path = try ConfigurationYAML.absolutePath(text)
        guard path.hasSuffix(".conf"), !path.contains(where: { $0 == "\"" || $0 == "\\" || $0.isNewline }) else {
            throw ParseError("bad routes file '\(text)': expected an absolute path ending in .conf, without quotes")
        }
        return path
    }

    static func duration(_ text: String, in range: ClosedRange<Duration>) throws(ParseError) -> Duration {
        let duration = try DurationText.parse(text)
        guard range.contains(duration) else {
            throw ParseError("bad duration '\(text)': expected \(DurationText.format(range.lowerBound)) to "
                + "\(DurationText.format(range.upperBound))")
        }
        return duration
    }

    /// MED and local preference: 32-bit unsigned.
    static func attribute(_ text: String) throws(ParseError) -> UInt32 {
        guard text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = UInt32(text) else {
            throw ParseError("bad value '\(text)': expected an integer from 0 to \(UInt32.max)")
        }
        return value
    }
}
