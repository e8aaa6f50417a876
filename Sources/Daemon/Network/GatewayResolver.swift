import Balancer
import Foundation

/// `gateway_mac: auto`: the MAC address of the default route's gateway on the balancer's
/// interface, from the kernel's routing and neighbour tables (`ip -j route`, `ip -j
/// neigh`; /proc/net/arp when `ip` is missing). Encapsulated packets leave through the
/// same NIC with this destination MAC, so they must go where the host's own traffic goes.
///
/// The neighbour entry must exist (the host has talked to its gateway; it always has on
/// a host that is reachable). lbd sends nothing to make one: the error says what to do.
public enum GatewayResolver {
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Resolves `setting` for `interface`: an explicit MAC as is, `auto` from the tables.
    public static func resolve(_ setting: Configuration.GatewayMAC, interface: String) throws(Failure) -> MACAddress {
        switch setting {
        case .address(let mac): return mac
        case .auto: return try resolveAuto(interface: interface)
        }
    }

    static func resolveAuto(interface: String) throws(Failure) -> MACAddress {
        var gateways: [String] = []
        for family in ["-4", "-6"] {
            if let json = Command.output(["ip", "-j", family, "route", "show", "default", "dev", interface]) {
                gateways += defaultGateways(routeJSON: json)
            }
        }
        guard !gateways.isEmpty else {
            throw Failure(description: "gateway_mac auto: no default route with a gateway on \(interface) "
                + "(ip route show default dev \(interface)); add one or set gateway_mac to the next hop's MAC")
        }
        for gateway in gateways {
            if let json = Command.output(["ip", "-j", "neigh", "show", gateway, "dev", interface]),
               let mac = neighbourMAC(neighJSON: json) {
                return mac
            }
            if let arp = try? ConfigurationFile.readFile("/proc/net/arp"),
               let mac = neighbourMAC(procNetARP: arp, address: gateway, interface: interface) {
                return mac
            }
        }
        throw Failure(description: "gateway_mac auto: no neighbour entry with a MAC for the gateway "
            + "\(gateways.joined(separator: " or ")) on \(interface) (ip neigh show dev \(interface)); "
            + "ping the gateway once, or set gateway_mac explicitly")
    }

    /// The gateways of `ip -j route show default` output, in the kernel's order.
    static func defaultGateways(routeJSON: Data) -> [String] {
        guard let routes = try? JSONSerialization.jsonObject(with: routeJSON) as? [[String: Any]] else { return [] }
        return routes.compactMap { $0["gateway"] as? String }
    }

    /// The MAC of the first usable entry of `ip -j neigh show` output. FAILED and
    /// INCOMPLETE entries have no (valid) MAC.
    static func neighbourMAC(neighJSON: Data) -> MACAddress? {
        guard let entries = try? JSONSerialization.jsonObject(with: neighJSON) as? [[String: Any]] else { return nil }
        for entry in entries {
            let states = entry["state"] as? [String] ?? []
            guard !states.contains("FAILED"), !states.contains("INCOMPLETE"),
                  let text = entry["lladdr"] as? String, let mac = try? MACAddress(text), !mac.isZero else { continue }
            return mac
        }
        return nil
    }

    /// The MAC of `address` on `interface` in /proc/net/arp (IPv4 only), complete entries only.
    static func neighbourMAC(procNetARP text: String, address: String, interface: String) -> MACAddress? {
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            // IP address, HW type, Flags, HW address, Mask, Device; flag 0x2 = complete.
            guard fields.count >= 6, fields[0] == address, fields[5] == interface,
                  let flags = Int(fields[2].dropFirst(2), radix: 16), flags & 0x2 != 0,
                  let mac = try? MACAddress(String(fields[3])), !mac.isZero else { continue }
            return mac
        }
        return nil
    }
}

private extension MACAddress {
    var isZero: Bool { bytes.allSatisfy { $0 == 0 } }
}
