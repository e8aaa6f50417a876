import Logging

/// A NIC that strips 802.1Q tags in hardware (`rx-vlan-offload`) hands XDP the frame
/// without its tag, so the balancer's XDP_TX would send the packets of a tagged VLAN out
/// untagged. Before attaching, lbd turns the offload off (the kernel then sees tags in the
/// frame and handles VLAN devices the same); an interface where it stays on is refused.
enum VLANOffload {
    /// ethtool's name of the feature (NETIF_F_HW_VLAN_CTAG_RX) in `ethtool -k`, and for `-K`.
    static let feature = "rx-vlan-offload"
    static let setting = "rxvlan"

    enum State: Equatable {
        case off
        case on(fixed: Bool)
    }

    /// The feature's state on `interface` per `ethtool -k`; nil when ethtool cannot tell
    /// (not installed, no such interface) or the driver has no such feature.
    static func state(of interface: String) -> State? {
        guard let output = Command.output(["ethtool", "-k", interface]) else { return nil }
        return parse(String(decoding: output, as: UTF8.self))
    }

    /// The state of `rx-vlan-offload` in `ethtool -k` output ("rx-vlan-offload: on [fixed]").
    static func parse(_ features: String) -> State? {
        for line in features.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, fields[0] == "\(feature):" else { continue }
            switch fields[1] {
            case "off": return .off
            case "on": return .on(fixed: fields.dropFirst(2).contains("[fixed]"))
            default: return nil
            }
        }
        return nil
    }

    /// Turns the offload off on `interface` if it is on, logged; throws when it stays on.
    static func ensureOff(_ interface: String, logger: Logger) throws(StartupFailure) {
        guard let state = state(of: interface) else {
            logger.warning("cannot read the interface's offloads with ethtool -k: VLAN-tagged traffic is sent out untagged if the NIC strips tags",
                           metadata: ["interface": "\(interface)", "feature": "\(feature)"])
            return
        }
        guard case .on(let fixed) = state else { return }
        if !fixed, Command.output(["ethtool", "-K", interface, setting, "off"]) != nil, self.state(of: interface) == .off {
            logger.warning("turned the NIC's VLAN tag stripping off: XDP_TX would send tagged traffic out untagged",
                           metadata: ["interface": "\(interface)", "feature": "\(feature)"])
            return
        }
        throw .configuration("\(interface) strips VLAN tags in hardware (\(feature) on\(fixed ? " [fixed]" : "")) and "
            + "ethtool -K \(interface) \(setting) off failed: XDP_TX would send tagged traffic out untagged")
    }
}
