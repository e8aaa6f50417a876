import Foundation

/// The configuration every real-lbd test starts from: its own interface, socket, state and
/// pins, generic limits; the caller adds the limits and services it is about.
func writeDaemonConfig(to path: String, network: NamespaceNetwork, socket: String, directory: String, pins: String,
                       limits: String, services: String, extra: String = "") throws {
    try """
        interface: \(network.interface)
        xdp_mode: auto
        gateway_mac: auto
        encap_source_v4: 172.16.0.0/16
        \(extra)api_socket: \(socket)
        state_dir: \(directory)/state
        bpf_pin_dir: \(pins)
        limits: \(limits)
        services:
        \(services)
        """.write(toFile: path, atomically: true, encoding: .utf8)
}
