@testable import Balancer
import XCTest

/// The configuration file: every key, the defaults, and errors placed at their node.
final class ConfigurationTests: XCTestCase {
    static let fullExample = """
        interface: eth0
        xdp_mode: native
        gateway_mac: 02:00:00:00:00:01
        encap_source_v4: 172.16.0.0/16
        encap_source_v6: fd00:1bd::/64
        mtu: 9000
        udp_idle_timeout: 2m
        tcp_idle_timeout: 2h
        tcp_linger: 5s
        api_socket: /run/lbd/api.sock
        metrics_listen: "[::1]:9100"
        state_dir: /var/lib/lbd-test
        bpf_pin_dir: /sys/fs/bpf/lbd-test
        limits: { max_vips: 64, max_backends: 256, ring_size: 65537, connection_table: 2000000 }
        services:
          - vip: 10.0.0.10:80/tcp
            hash: 5tuple
            on_backend_down: keep
            backends: [ { address: 192.0.2.11, weight: 100 }, { address: 192.0.2.12 } ]
          - vip: 10.0.0.10:53/udp
            hash: source
            udp_idle_timeout: 10s
            backends:
              - address: 192.0.2.11
                weight: 50
                drained: true
              - address: "2001:db8::11"
          - vip: "[2001:db8::10]:443/tcp"
            backends: []

        """

    func testFullExample() throws {
        let configuration = try Configuration(yaml: Self.fullExample)
        XCTAssertEqual(configuration.interface, "eth0")
        XCTAssertEqual(configuration.xdpMode, .native)
        XCTAssertEqual(configuration.gatewayMAC, .address(try MACAddress("02:00:00:00:00:01")))
        XCTAssertEqual(configuration.encapSourceV4, try IPPrefix("172.16.0.0/16"))
        XCTAssertEqual(configuration.encapSourceV6, try IPPrefix("fd00:1bd::/64"))
        XCTAssertEqual(configuration.mtu, 9000)
        XCTAssertEqual(configuration.udpIdleTimeout, .seconds(120))
        XCTAssertEqual(configuration.tcpIdleTimeout, .seconds(7200))
        XCTAssertEqual(configuration.tcpLinger, .seconds(5))
        XCTAssertEqual(configuration.apiSocket, "/run/lbd/api.sock")
        XCTAssertEqual(configuration.metricsListen, try ListenAddress("[::1]:9100"))
        XCTAssertEqual(configuration.stateDirectory, "/var/lib/lbd-test")
        XCTAssertEqual(configuration.bpfPinDirectory, "/sys/fs/bpf/lbd-test")
        XCTAssertEqual(configuration.limits, Limits(maxVIPs: 64, maxBackends: 256, ringSize: 65537,
                                                    connectionTable: 2_000_000, backendFamilies: [.v4, .v6]))
        let services = configuration.services.sortedServices
        XCTAssertEqual(services.map(\.vip.description), ["10.0.0.10:53/udp", "10.0.0.10:80/tcp", "[2001:db8::10]:443/tcp"])
        XCTAssertEqual(services[0], ServiceSpec(
            vip: try VIPKey("10.0.0.10:53/udp"), hash: .source, udpIdleTimeout: .seconds(10),
            backends: [BackendSpec(address: try IPAddress("192.0.2.11"), weight: 50, drained: true),
                       BackendSpec(address: try IPAddress("2001:db8::11"))]))
        XCTAssertEqual(services[1].backends.map(\.weight), [100, 100])
        XCTAssertEqual(services.map(\.onBackendDown), [.move, .keep, .move])
        XCTAssertEqual(services[2].backends, [])
        XCTAssertEqual(Configuration.check(yaml: Self.fullExample), [])
    }

    func testDefaults() throws {
        let configuration = try Configuration(yaml: "interface: eth1\n")
        XCTAssertEqual(configuration.xdpMode, .auto)
        XCTAssertEqual(configuration.gatewayMAC, .auto)
        XCTAssertNil(configuration.encapSourceV4)
        XCTAssertNil(configuration.encapSourceV6)
        XCTAssertEqual(configuration.mtu, 1500)
        XCTAssertEqual(configuration.udpIdleTimeout, .seconds(30))
        XCTAssertEqual(configuration.apiSocket, "/run/lbd/lbd.sock")
        XCTAssertEqual(configuration.metricsListen.description, "127.0.0.1:9750")
        XCTAssertEqual(configuration.stateDirectory, "/var/lib/lbd")
        XCTAssertEqual(configuration.bpfPinDirectory, "/sys/fs/bpf/lbd")
        XCTAssertEqual(configuration.limits, Limits(backendFamilies: []))
        XCTAssertEqual(configuration.limits.maxVIPs, 512)
        XCTAssertEqual(configuration.limits.maxBackends, 4096)
        XCTAssertEqual(configuration.limits.ringSize, 65537)
        XCTAssertEqual(configuration.limits.connectionTable, 1_000_000)
        XCTAssertEqual(configuration.limits.backendMapEntries, 8193)
        XCTAssertEqual(configuration.services, DesiredState())
        XCTAssertEqual(try Configuration(yaml: "interface: eth1\nmtu: 0\n").mtu, 0)
    }

    /// Backends may only have families with an encapsulation source, whichever way the
    /// configuration is changed.
    func testBackendFamiliesFollowTheEncapsulationSources() throws {
        var configuration = try Configuration(yaml: Self.fullExample)
        XCTAssertEqual(configuration.limits.backendFamilies, [.v4, .v6])
        configuration.encapSourceV4 = nil
        XCTAssertEqual(configuration.limits.backendFamilies, [.v6])
        configuration.limits = Limits()
        XCTAssertEqual(configuration.limits.backendFamilies, [.v6])
        configuration.encapSourceV6 = nil
        XCTAssertEqual(configuration.limits.backendFamilies, [])
        XCTAssertEqual(Configuration(interface: "eth0", encapSourceV4: try IPPrefix("10.9.0.0/16")).limits.backendFamilies, [.v4])
    }

    /// The first three lines of the files below: a valid start, so each case's own
    /// lines begin at line 4.
    private static let header = "interface: eth0\nencap_source_v4: 172.16.0.0/16\nencap_source_v6: fd00::/64\n"

    /// (file, every error expected as `LINE:COL: message`). Files starting with `!` are
    /// taken whole (without the header and the `!`).
    static let invalidFiles: [(String, [String])] = [
        // Keys and structure
        ("colour: blue", ["4:1: unknown key 'colour' in the configuration (expected one of: interface, xdp_mode, "
            + "gateway_mac, encap_source_v4, encap_source_v6, mtu, udp_idle_timeout, tcp_idle_timeout, tcp_linger, api_socket, "
            + "metrics_listen, state_dir, bpf_pin_dir, limits, announce, flood, services)"]),
        ("mtu: 1500\nmtu: 9000", ["4:1: YAML syntax: key 'mtu' appears more than once in a mapping"]),
        ("mtu:", ["4:5: mtu: no value given; remove the key to use the default"]),
        ("mtu: [1500]", ["4:6: mtu: expected a single value, found a list"]),
        ("!", ["1:1: the configuration is empty; 'interface' is required"]),
        ("!- eth0", ["1:1: the configuration: expected a mapping (key: value lines), found a list"]),
        ("!mtu: 1500", ["1:1: 'interface' is required: the network interface to attach the balancer to"]),
        ("!interface: eth0\n  indented: wrong", ["2:11: YAML syntax: mapping values are not allowed in this context"]),
        // Values
        ("!interface: eth0/1", ["1:12: interface: bad interface name 'eth0/1': 1 to 15 characters, without '/', ':' or spaces"]),
        ("!interface: averyveryverylongname", ["1:12: interface: bad interface name 'averyveryverylongname': "
            + "1 to 15 characters, without '/', ':' or spaces"]),
        ("xdp_mode: fast", ["4:11: xdp_mode: bad XDP mode 'fast': expected native, generic or auto"]),
        ("gateway_mac: 02:00:00:00:01", ["4:14: gateway_mac: bad MAC address '02:00:00:00:01': expected six pairs of "
            + "hex digits separated by colons, e.g. 02:00:00:00:00:01"]),
        ("gateway_mac: ff:ff:ff:ff:ff:ff", ["4:14: gateway_mac: bad MAC address 'ff:ff:ff:ff:ff:ff': a multicast "
            + "address cannot be a gateway"]),
        ("!interface: eth0\nencap_source_v4: fd00::/64", ["2:18: encap_source_v4: fd00::/64 is IPv6; expected an IPv4 prefix"]),
        ("!interface: eth0\nencap_source_v6: 172.16.0.0/16", ["2:18: encap_source_v6: 172.16.0.0/16 is IPv4; expected an IPv6 prefix"]),
        ("!interface: eth0\nencap_source_v4: 172.16.0.1/16", ["2:18: encap_source_v4: bad prefix '172.16.0.1/16': host bits "
            + "are set; did you mean 172.16.0.0/16?"]),
        ("!interface: eth0\nencap_source_v6: fd00:lbd::/64", ["2:18: encap_source_v6: bad prefix 'fd00:lbd::/64': bad IPv6 "
            + "address 'fd00:lbd::': 'lbd' is not a group of 1 to 4 hex digits"]),
        ("mtu: 1000", ["4:6: mtu: bad MTU '1000': expected 0 (no check) or 1320...65535"]),
        ("mtu: 70000", ["4:6: mtu: bad MTU '70000': expected 0 (no check) or 1320...65535"]),
        ("udp_idle_timeout: 30", ["4:19: udp_idle_timeout: bad duration '30': expected a whole number and a unit "
            + "(ms, s, m, h), e.g. 30s"]),
        ("udp_idle_timeout: 2d", ["4:19: udp_idle_timeout: bad duration '2d': expected a whole number and a unit "
            + "(ms, s, m, h), e.g. 30s"]),
        ("udp_idle_timeout: 1500ms", ["4:19: udp_idle_timeout: bad UDP idle timeout '1500ms': whole seconds from 1s to 24h"]),
        ("udp_idle_timeout: 25h", ["4:19: udp_idle_timeout: bad UDP idle timeout '25h': whole seconds from 1s to 24h"]),
        ("tcp_idle_timeout: 0s", ["4:19: tcp_idle_timeout: bad TCP idle timeout '0s': whole seconds from 1s to 720h"]),
        ("tcp_idle_timeout: 1500ms", ["4:19: tcp_idle_timeout: bad TCP idle timeout '1500ms': whole seconds from 1s to 720h"]),
        ("tcp_linger: 2h", ["4:13: tcp_linger: bad TCP linger '2h': whole seconds from 1s to 1h"]),
        ("api_socket: lbd.sock", ["4:13: api_socket: bad path 'lbd.sock': expected an absolute path"]),
        ("api_socket: /" + String(repeating: "a", count: 110), ["4:13: api_socket: bad socket path '/"
            + String(repeating: "a", count: 110) + "': 111 bytes, unix sockets allow 107"]),
        ("metrics_listen: 127.0.0.1", ["4:17: metrics_listen: bad listen address '127.0.0.1': expected address:port, "
            + "e.g. 127.0.0.1:9750"]),
        ("state_dir: var/lib/lbd", ["4:12: state_dir: bad path 'var/lib/lbd': expected an absolute path"]),
        ("bpf_pin_dir: ~", ["4:14: bpf_pin_dir: no value given; remove the key to use the default"]),
        // Limits
        ("limits: 5", ["4:9: limits: expected a mapping (key: value lines), found a single value"]),
        ("limits: { max_flows: 10 }", ["4:11: unknown key 'max_flows' in limits (expected one of: max_vips, max_backends, "
            + "ring_size, connection_table)"]),
        ("limits: { max_vips: many }", ["4:21: limits.max_vips: expected an integer, got 'many'"]),
        ("limits: { max_vips: 0 }", ["4:21: limits.max_vips 0 is out of range 1...65536"]),
        ("limits: { max_backends: -1 }", ["4:25: limits.max_backends -1 is out of range 1...2147483646"]),
        ("limits: { connection_table: 0 }", ["4:29: limits.connection_table 0 is out of range 1...28000000"]),
        ("limits: { connection_table: 28000001 }", ["4:29: limits.connection_table 28000001 is out of range 1...28000000"]),
        ("limits: { ring_size: 65536 }", ["4:22: limits.ring_size: table size 65536 is not prime (nearest larger prime: 65537)"]),
        ("limits: { ring_size: 97 }", ["4:22: limits.ring_size: table size 97 is too small for 1 backends; it must be at "
            + "least 100 (smallest prime: 101)"]),
        ("limits: { max_vips: 65536 }", ["4:9: limits: max_vips 65536 × 2 rings × ring_size 65537 exceeds the datapath's "
            + "4294967295 ring slots; lower max_vips or ring_size"]),
        // Services: structure
        ("services: { vip: 10.0.0.10:80/tcp }", ["4:11: services: expected a list, found a mapping"]),
        ("services:\n  - hash: source", ["5:5: services[0]: 'vip' is required"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    backend: []", ["6:5: unknown key 'backend' in services[0] "
            + "(expected one of: vip, hash, udp_idle_timeout, on_backend_down, quic, quic_server_id_length, "
            + "quic_connection_id_length, backends, health_check)"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    backends: 192.0.2.1", ["6:15: services[0].backends: expected a list, "
            + "found a single value"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    backends: [ { weight: 5 } ]", ["6:17: services[0].backends[0]: "
            + "'address' is required"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 192.0.2.1, port: 80 } ]", ["6:39: unknown key "
            + "'port' in services[0].backends[0] (expected one of: address, weight, drained, health_check, quic_server_id)"]),
        // Services: values
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    on_backend_down: stay", ["6:22: on_backend_down: bad on_backend_down "
            + "'stay': expected move or keep"]),
        ("services:\n  - vip: 10.0.0.10:80", ["5:10: vip: bad VIP '10.0.0.10:80': no protocol; expected address:port/proto, "
            + "e.g. 10.0.0.10:80/tcp or [2001:db8::10]:443/tcp"]),
        ("services:\n  - vip: 10.0.0.10:99999/tcp", ["5:10: vip: bad VIP '10.0.0.10:99999/tcp': port 99999 is above 65535"]),
        ("services:\n  - vip: 10.0.0.10:80/icmp", ["5:10: vip: bad VIP '10.0.0.10:80/icmp': protocol 'icmp' is not tcp or udp"]),
        ("services:\n  - vip: [2001:db8::10]:443/tcp", ["5:24: YAML syntax: while parsing a block mapping at 5:5: did not "
            + "find expected key (quote IPv6 VIPs: \"[2001:db8::10]:443/tcp\")"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    hash: round-robin", ["6:11: hash: bad hash mode 'round-robin': "
            + "expected 5tuple or source"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 192.0.2.300 } ]", ["6:28: address: bad IPv4 "
            + "address '192.0.2.300': 300 is above 255"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 192.0.2.1, weight: heavy } ]", ["6:47: weight: "
            + "expected an integer, got 'heavy'"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 192.0.2.1, drained: yes } ]", ["6:48: drained: "
            + "expected true or false, got 'yes'"]),
        ("services:\n  - vip: 10.0.0.10:53/udp\n    udp_idle_timeout: soon", ["6:23: udp_idle_timeout: bad duration 'soon': "
            + "expected a whole number and a unit (ms, s, m, h), e.g. 30s"]),
        // Services: health checks, refused at the field concerned
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    health_check: { type: http, interval: 0s }", ["6:43: services[0].health_check: interval must be greater than zero (got 0s)"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    health_check: { type: tcp, interval: -1s }", ["6:42: services[0].health_check: interval must be greater than zero (got -1s)"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    health_check: { type: tcp, interval: 1s, timeout: 1s }", ["6:55: services[0].health_check: timeout (1s) must be less than interval (1s)"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    health_check: { type: icmp }", ["6:27: services[0].health_check: type \"icmp\" is not one of none, tcp, http, https"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    health_check: { type: http, expect_status: 600-100 }", ["6:48: services[0].health_check: expect_status \"600-100\": 600 is not an HTTP status code (100-599)"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    health_check: { type: tcp, rise: 0 }", ["6:38: services[0].health_check: rise must be at least 1 (got 0)"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    health_check: { type: tcp, fall: 0 }", ["6:38: services[0].health_check: fall must be at least 1 (got 0)"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    health_check: { type: tcp, intervall: 2s }", ["6:43: services[0].health_check: unknown field \"intervall\""]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    health_check: { type: tcp, min_up: 0 }", ["6:40: services[0].health_check: min_up must be at least 1 (got 0)"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    health_check: { type: tcp, panic_threshold: 101 }", ["6:49: services[0].health_check: panic_threshold must be a percentage from 0 (never) to 100 (got 101)"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    health_check: { type: tcp, path: /healthz }", ["6:38: services[0].health_check: path applies only to http and https checks"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    health_check: tcp", ["6:19: services[0].health_check: expected a mapping of health check fields (type: tcp, interval: 2s, ...)"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 192.0.2.1, health_check: { type: tcp, port: 0 } } ]", ["6:72: services[0].backends[0].health_check: port must be between 1 and 65535 (got 0)"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 192.0.2.1, health_check: { type: https, interval: 2 } } ]", ["6:78: services[0].backends[0].health_check: interval \"2\": expected a whole number and a unit (ms, s, m, h), such as 500ms or 2s"]),
        // Services: validation, at the node concerned
        ("services:\n  - vip: 10.0.0.10:80/tcp\n  - vip: 10.0.0.10:80/tcp", ["6:10: VIP 10.0.0.10:80/tcp is defined more than once"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 192.0.2.1 }, { address: 192.0.2.1 } ]",
         ["6:52: VIP 10.0.0.10:80/tcp: backend 192.0.2.1 is listed more than once"]),
        ("services:\n  - vip: \"[2001:db8::10]:443/tcp\"\n    backends: [ { address: 192.0.2.1 } ]",
         ["6:28: VIP [2001:db8::10]:443/tcp: backend 192.0.2.1 is IPv4; an IPv6 VIP needs IPv6 backends (the datapath has no 6-in-4)"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 192.0.2.1, weight: 70000 } ]",
         ["6:47: VIP 10.0.0.10:80/tcp: backend 192.0.2.1 has weight 70000; weights are 0...65535"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 192.0.2.1, weight: -1 } ]",
         ["6:47: VIP 10.0.0.10:80/tcp: backend 192.0.2.1 has weight -1; weights are 0...65535"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    udp_idle_timeout: 30s", ["6:23: VIP 10.0.0.10:80/tcp: udp_idle_timeout "
            + "applies to UDP VIPs only"]),
        ("services:\n  - vip: 10.0.0.10:53/udp\n    udp_idle_timeout: 0s", ["6:23: VIP 10.0.0.10:53/udp: udp_idle_timeout 0s "
            + "must be whole seconds from 1s to 24h"]),
        ("services:\n  - vip: 10.0.0.10:53/udp\n    udp_idle_timeout: 2500ms", ["6:23: VIP 10.0.0.10:53/udp: "
            + "udp_idle_timeout 2500ms must be whole seconds from 1s to 24h"]),
        ("services:\n  - vip: 0.0.0.0:80/tcp", ["5:10: VIP 0.0.0.0:80/tcp: 0.0.0.0 is the unspecified address; a VIP needs a "
            + "unicast address"]),
        ("services:\n  - vip: 224.0.0.1:80/udp", ["5:10: VIP 224.0.0.1:80/udp: 224.0.0.1 is a multicast address; a VIP "
            + "needs a unicast address"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 127.0.0.1 } ]", ["6:28: VIP 10.0.0.10:80/tcp: "
            + "backend 127.0.0.1 is a loopback address; a backend needs a unicast address"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 255.255.255.255 } ]", ["6:28: VIP "
            + "10.0.0.10:80/tcp: backend 255.255.255.255 is the broadcast address; a backend needs a unicast address"]),
        ("services:\n  - vip: 10.0.0.10:80/tcp\n  - vip: 10.0.0.11:80/tcp\n    backends: [ { address: 10.0.0.10 } ]",
         ["7:28: VIP 10.0.0.11:80/tcp: backend 10.0.0.10 is a VIP address; its packets would loop back to the balancer"]),
        ("!interface: eth0\nservices:\n  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 192.0.2.1 } ]",
         ["4:28: VIP 10.0.0.10:80/tcp: backend 192.0.2.1 is IPv4 but encap_source_v4 is not configured"]),
        ("!interface: eth0\nencap_source_v4: 172.16.0.0/16\nservices:\n  - vip: 10.0.0.10:80/tcp\n    backends: "
            + "[ { address: \"2001:db8::1\" } ]",
         ["5:28: VIP 10.0.0.10:80/tcp: backend 2001:db8::1 is IPv6 but encap_source_v6 is not configured"]),
        ("services:\n  - vip: 10.0.0.10:0/tcp\n    health_check: { type: tcp }", ["6:19: VIP 10.0.0.10:0/tcp: health_check "
            + "names no port; a VIP of port 0 takes every port, so its checks need one (port: 80)"]),
        ("services:\n  - vip: 10.0.0.10:0/tcp\n    backends: [ { address: 192.0.2.1, health_check: { type: http } } ]",
         ["6:53: VIP 10.0.0.10:0/tcp: backend 192.0.2.1's health_check names no port; a VIP of port 0 takes every port, "
            + "so its checks need one (port: 80)"]),
        // Services: limits
        ("limits: { max_vips: 1 }\nservices:\n  - vip: 10.0.0.10:80/tcp\n  - vip: 10.0.0.11:80/tcp",
         ["6:3: 2 VIPs exceed limits.max_vips 1"]),
        ("limits: { max_backends: 1 }\nservices:\n  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 192.0.2.1 }, "
            + "{ address: 192.0.2.2 } ]", ["6:3: 2 distinct backend addresses exceed limits.max_backends 1"]),
        ("limits: { ring_size: 101 }\nservices:\n  - vip: 10.0.0.10:80/tcp\n    backends: [ { address: 192.0.2.1 }, "
            + "{ address: 192.0.2.2 } ]", ["6:10: VIP 10.0.0.10:80/tcp: table size 101 is too small for 2 backends; it must be "
            + "at least 200 (smallest prime: 211); raise limits.ring_size"]),
        // Several errors at once, in file order
        ("mtu: 1\nservices:\n  - vip: 10.0.0.10:80/tcp\n    hash: random\n    backends: [ { address: 192.0.2.1, weight: 1e9 } ]"
            + "\nxdp_mode: turbo",
         ["4:6: mtu: bad MTU '1': expected 0 (no check) or 1320...65535",
          "7:11: hash: bad hash mode 'random': expected 5tuple or source",
          "8:47: weight: expected an integer, got '1e9'",
          "9:11: xdp_mode: bad XDP mode 'turbo': expected native, generic or auto"]),
    ]

    func testInvalidFilesReportEveryErrorAtItsNode() {
        XCTAssertGreaterThanOrEqual(Self.invalidFiles.count, 60)
        for (file, expected) in Self.invalidFiles {
            let text = file.hasPrefix("!") ? String(file.dropFirst()) : Self.header + file
            let errors = Configuration.check(yaml: text)
            XCTAssertEqual(errors.map(\.description), expected, "file:\n\(text)")
            XCTAssertThrowsError(try Configuration(yaml: text))
        }
    }

    func testErrorsFormatAsFileLineColumn() {
        let errors = Configuration.check(yaml: "interface: eth0\nmtu: 10\n")
        XCTAssertEqual(errors.map { $0.formatted(file: "/etc/lbd/lbd.yaml") },
                       ["/etc/lbd/lbd.yaml:2:6: mtu: bad MTU '10': expected 0 (no check) or 1320...65535"])
        XCTAssertThrowsError(try Configuration(yaml: "interface: eth0\nmtu: 10\nxdp_mode: x\n")) { error in
            XCTAssertEqual((error as? ConfigErrors)?.formatted(file: "lbd.yaml"),
                           "lbd.yaml:2:6: mtu: bad MTU '10': expected 0 (no check) or 1320...65535\n"
                               + "lbd.yaml:3:11: xdp_mode: bad XDP mode 'x': expected native, generic or auto")
        }
    }
}
