import Balancer
import Datapath
import Foundation
import TestSupport
import XCTest

/// Bad input changes nothing (issue #4): the real lbd in a namespace refuses every invalid
/// lbctl command, services file and configuration with one clear line (and lbctl with its
/// documented exit code), and afterwards the state file and the pinned maps are byte for
/// byte what they were. `lbd check` names each problem of a configuration at its position.
final class InvalidInputTests: XCTestCase {
    // MARK: lbctl

    func testRefusedEditsChangeNothing() async throws {
        try await assertRefusedWithoutChange(Self.editRefusals)
    }

    func testRefusedServicesFilesChangeNothing() async throws {
        try await assertRefusedWithoutChange(Self.servicesFileRefusals)
    }

    /// An lbctl invocation that must be refused. `command` is split on spaces; `$DIR` is
    /// the test's directory and `$FILE` the services file holding `file`.
    private struct Refusal {
        let command: String
        var file: String?
        var encoding = String.Encoding.utf8
        let exitCode: Int32
        /// The one line lbctl prints, after `lbctl: `.
        let message: String
    }

    private static let usage = "expected address:port/proto, e.g. 10.0.0.10:80/tcp or [2001:db8::10]:443/tcp"
    private static let backendsFull = "9 distinct backend addresses exceed limits.max_backends 8"

    private static let editRefusals: [Refusal] = [
        // VIPs lbctl refuses before sending anything.
        Refusal(command: "vip add 10.0.0.300:80/tcp", exitCode: 2,
                message: "bad VIP '10.0.0.300:80/tcp': bad IPv4 address '10.0.0.300': 300 is above 255"),
        Refusal(command: "vip add 10.0.0.30:80/sctp", exitCode: 2,
                message: "bad VIP '10.0.0.30:80/sctp': protocol 'sctp' is not tcp or udp"),
        Refusal(command: "vip add 10.0.0.30/tcp", exitCode: 2, message: "bad VIP '10.0.0.30/tcp': no port; \(usage)"),
        Refusal(command: "vip add 10.0.0.30:/tcp", exitCode: 2,
                message: "bad VIP '10.0.0.30:/tcp': port '' is not a number (0 means every port)"),
        Refusal(command: "vip add 10.0.0.30:http/tcp", exitCode: 2,
                message: "bad VIP '10.0.0.30:http/tcp': port 'http' is not a number (0 means every port)"),
        Refusal(command: "vip add 10.0.0.30:65536/tcp", exitCode: 2,
                message: "bad VIP '10.0.0.30:65536/tcp': port 65536 is above 65535"),
        Refusal(command: "vip add 10.0.0.30:80", exitCode: 2, message: "bad VIP '10.0.0.30:80': no protocol; \(usage)"),
        Refusal(command: "vip add 2001:db8::30:443/tcp", exitCode: 2,
                message: "bad VIP '2001:db8::30:443/tcp': an IPv6 address needs brackets: [2001:db8::30]:443/tcp"),
        Refusal(command: "vip add [2001:db8::30:443/tcp", exitCode: 2,
                message: "bad VIP '[2001:db8::30:443/tcp': '[' without ']'"),
        Refusal(command: "vip add 0.0.0.0:80/tcp", exitCode: 2,
                message: "VIP 0.0.0.0:80/tcp: 0.0.0.0 is the unspecified address; a VIP needs a unicast address"),
        Refusal(command: "vip add 224.0.0.1:80/tcp", exitCode: 2,
                message: "VIP 224.0.0.1:80/tcp: 224.0.0.1 is a multicast address; a VIP needs a unicast address"),
        Refusal(command: "vip add 10.0.0.30:80/tcp --hash bogus", exitCode: 2,
                message: "bad hash mode 'bogus': expected 5tuple or source"),
        Refusal(command: "vip add 10.0.0.30:80/tcp --udp-idle-timeout 30s", exitCode: 2,
                message: "VIP 10.0.0.30:80/tcp: udp_idle_timeout applies to UDP VIPs only"),
        Refusal(command: "vip add 10.0.0.30:53/udp --udp-idle-timeout 30x", exitCode: 2,
                message: "bad duration '30x': expected a whole number and a unit (ms, s, m, h), e.g. 30s"),
        Refusal(command: "vip add 10.0.0.30:53/udp --udp-idle-timeout 1500ms", exitCode: 2,
                message: "VIP 10.0.0.30:53/udp: udp_idle_timeout 1500ms must be whole seconds from 1s to 24h"),
        Refusal(command: "vip add 10.0.0.30:53/udp --udp-idle-timeout 25h", exitCode: 2,
                message: "VIP 10.0.0.30:53/udp: udp_idle_timeout 25h must be whole seconds from 1s to 24h"),
        Refusal(command: "vip add 10.0.0.30:80/tcp --colour blue", exitCode: 2,
                message: "unknown option '--colour' (see 'lbctl vip add --help')"),
        Refusal(command: "vip add", exitCode: 2, message: "missing expected argument '<vip>' (see 'lbctl vip add --help')"),
        Refusal(command: "vip rename 10.0.0.10:80/tcp", exitCode: 2,
                message: "2 unexpected arguments: 'rename', '10.0.0.10:80/tcp' (see 'lbctl vip --help')"),
        // VIPs lbd refuses.
        Refusal(command: "vip add 10.0.0.10:80/tcp", exitCode: 1, message: "VIP 10.0.0.10:80/tcp already exists"),
        Refusal(command: "vip add [2001:db8::10]:443/tcp --hash source", exitCode: 1,
                message: "VIP [2001:db8::10]:443/tcp already exists"),
        Refusal(command: "vip add 10.0.0.30:80/tcp", exitCode: 1, message: "5 VIPs exceed limits.max_vips 4"),
        Refusal(command: "vip remove 10.0.0.99:80/tcp", exitCode: 1, message: "no VIP 10.0.0.99:80/tcp"),
        Refusal(command: "vip remove 10.0.0.10:80/udp", exitCode: 1, message: "no VIP 10.0.0.10:80/udp"),
        // Backends lbctl refuses before sending anything.
        Refusal(command: "backend add 10.0.0.10:80/tcp 192.0.2.300", exitCode: 2,
                message: "bad IPv4 address '192.0.2.300': 300 is above 255"),
        Refusal(command: "backend add 10.0.0.10:80/tcp 192.0.2.0/24", exitCode: 2,
                message: "'192.0.2.0/24' is not an IP address"),
        Refusal(command: "backend add 10.0.0.10:80/tcp", exitCode: 2,
                message: "missing expected argument '<address>' (see 'lbctl backend add --help')"),
        Refusal(command: "backend add 10.0.0.10:80/tcp 127.0.0.1", exitCode: 2,
                message: "VIP 10.0.0.10:80/tcp: backend 127.0.0.1 is a loopback address; a backend needs a unicast address"),
        Refusal(command: "backend add 10.0.0.10:80/tcp 10.0.0.10", exitCode: 2,
                message: "VIP 10.0.0.10:80/tcp: backend 10.0.0.10 is a VIP address; its packets would loop back to the balancer"),
        Refusal(command: "backend add [2001:db8::10]:443/tcp 192.0.2.11", exitCode: 2,
                message: "VIP [2001:db8::10]:443/tcp: backend 192.0.2.11 is IPv4; an IPv6 VIP needs IPv6 backends "
                    + "(the datapath has no 6-in-4)"),
        Refusal(command: "backend add 10.0.0.10:80/tcp 192.0.2.21 --weight -1", exitCode: 2,
                message: "VIP 10.0.0.10:80/tcp: backend 192.0.2.21 has weight -1; weights are 0...65535"),
        Refusal(command: "backend add 10.0.0.10:80/tcp 192.0.2.21 --weight 65536", exitCode: 2,
                message: "VIP 10.0.0.10:80/tcp: backend 192.0.2.21 has weight 65536; weights are 0...65535"),
        Refusal(command: "backend add 10.0.0.10:80/tcp 192.0.2.21 --weight heavy", exitCode: 2,
                message: "the value 'heavy' is invalid for '--weight <n>' (see 'lbctl backend add --help')"),
        Refusal(command: "backend set 10.0.0.10:80/tcp 192.0.2.11 --weight 65536", exitCode: 2,
                message: "VIP 10.0.0.10:80/tcp: backend 192.0.2.11 has weight 65536; weights are 0...65535"),
        Refusal(command: "backend set 10.0.0.10:80/tcp 192.0.2.11", exitCode: 2,
                message: "missing expected argument '--weight <n>' (see 'lbctl backend set --help')"),
        // Backends lbd refuses.
        Refusal(command: "backend add 10.0.0.10:80/tcp 192.0.2.11 --weight 5", exitCode: 1,
                message: "VIP 10.0.0.10:80/tcp already has backend 192.0.2.11"),
        Refusal(command: "backend add 10.0.0.99:80/tcp 192.0.2.11", exitCode: 1, message: "no VIP 10.0.0.99:80/tcp"),
        Refusal(command: "backend add 10.0.0.10:80/tcp 192.0.2.50 --weight 0", exitCode: 1, message: backendsFull),
        Refusal(command: "backend add 10.0.0.10:80/tcp 10.0.0.20", exitCode: 1,
                message: "\(backendsFull); VIP 10.0.0.10:80/tcp: backend 10.0.0.20 is a VIP address; "
                    + "its packets would loop back to the balancer"),
        Refusal(command: "backend add 10.0.0.10:80/tcp 2001:db8::50", exitCode: 1,
                message: "\(backendsFull); VIP 10.0.0.10:80/tcp: backend 2001:db8::50 is IPv6 but encap_source_v6 "
                    + "is not configured"),
        Refusal(command: "backend add [2001:db8::10]:443/tcp 2001:db8::50", exitCode: 1,
                message: "\(backendsFull); VIP [2001:db8::10]:443/tcp: backend 2001:db8::50 is IPv6 but encap_source_v6 "
                    + "is not configured"),
        Refusal(command: "backend set 10.0.0.10:80/tcp 192.0.2.99 --weight 5", exitCode: 1,
                message: "VIP 10.0.0.10:80/tcp has no backend 192.0.2.99"),
        Refusal(command: "backend set 10.0.0.99:80/tcp 192.0.2.11 --weight 5", exitCode: 1,
                message: "no VIP 10.0.0.99:80/tcp"),
        Refusal(command: "backend remove 10.0.0.10:80/tcp 192.0.2.21", exitCode: 1,
                message: "VIP 10.0.0.10:80/tcp has no backend 192.0.2.21"),
        Refusal(command: "backend drain 10.0.0.10:80/tcp 192.0.2.99", exitCode: 1,
                message: "VIP 10.0.0.10:80/tcp has no backend 192.0.2.99"),
        Refusal(command: "backend drain 10.0.0.10:53/tcp 192.0.2.21", exitCode: 1, message: "no VIP 10.0.0.10:53/tcp"),
        Refusal(command: "backend undrain 10.0.0.20:443/tcp 192.0.2.13", exitCode: 1,
                message: "VIP 10.0.0.20:443/tcp has no backend 192.0.2.13"),
    ]

    private static let servicesFileRefusals: [Refusal] = [
        Refusal(command: "apply -f $FILE", file: """
            services:
              - vip: 10.0.0.10:80/tcp
                colour: blue
            """, exitCode: 1,
                message: "$FILE:3:5: unknown key 'colour' in services[0] "
                    + "(expected one of: vip, hash, udp_idle_timeout, on_backend_down, quic, quic_server_id_length, "
                    + "quic_connection_id_length, backends, health_check)"),
        Refusal(command: "apply -f $FILE", file: """
            services:
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.11, wieght: 5 } ]
            """, exitCode: 1,
                message: "$FILE:3:40: unknown key 'wieght' in services[0].backends[0] "
                    + "(expected one of: address, weight, drained, health_check, quic_server_id)"),
        Refusal(command: "apply -f $FILE", file: "services: []\nlimits: { max_vips: 8 }\n", exitCode: 1,
                message: "$FILE:2:1: unknown key 'limits' in services file (expected one of: services)"),
        Refusal(command: "apply -f $FILE", file: """
            services:
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.11 }
            """, exitCode: 1,
                message: "$FILE:4:1: YAML syntax: while parsing a flow sequence at 3:15: did not find expected ',' or ']'"),
        Refusal(command: "apply -f $FILE", file: """
            services:
              - vip: [2001:db8::10]:443/tcp
            """, exitCode: 1,
                message: "$FILE:2:24: YAML syntax: while parsing a block mapping at 2:5: did not find expected key "
                    + #"(quote IPv6 VIPs: "[2001:db8::10]:443/tcp")"#),
        Refusal(command: "apply -f $FILE", file: "", exitCode: 1,
                message: "$FILE:1:1: the file is empty; write 'services: []' to remove every VIP"),
        Refusal(command: "apply -f $FILE", file: "services: { vip: 10.0.0.10:80/tcp }\n", exitCode: 1,
                message: "$FILE:1:11: services: expected a list, found a mapping"),
        Refusal(command: "apply -f $FILE", file: """
            services:
              - vip: 10.0.0.10:80/tcp
              - vip: 10.0.0.10:80/tcp
            """, exitCode: 1, message: "$FILE:3:10: VIP 10.0.0.10:80/tcp is defined more than once"),
        Refusal(command: "apply --dry-run -f $FILE", file: """
            services:
              - vip: "[2001:db8::10]:443/tcp"
              - vip: "[2001:db8:0::10]:443/tcp"
            """, exitCode: 1, message: "$FILE:3:10: VIP [2001:db8::10]:443/tcp is defined more than once"),
        Refusal(command: "apply -f $FILE", file: """
            services:
              - vip: 10.0.0.300:80/tcp
            """, exitCode: 1,
                message: "$FILE:2:10: vip: bad VIP '10.0.0.300:80/tcp': bad IPv4 address '10.0.0.300': 300 is above 255"),
        Refusal(command: "apply -f $FILE", file: """
            services:
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.300 } ]
            """, exitCode: 1, message: "$FILE:3:28: address: bad IPv4 address '192.0.2.300': 300 is above 255"),
        Refusal(command: "apply -f $FILE", file: """
            services:
              - vip: 10.0.0.10:80/tcp
              - vip: 10.0.0.11:80/tcp
              - vip: 10.0.0.12:80/tcp
              - vip: 10.0.0.13:80/tcp
              - vip: 10.0.0.14:80/tcp
            """, exitCode: 1, message: "$FILE:2:3: 5 VIPs exceed limits.max_vips 4"),
        Refusal(command: "apply -f $FILE", file: """
            services:
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.1 }, { address: 192.0.2.2 }, { address: 192.0.2.3 }, { address: 192.0.2.4 },
                            { address: 192.0.2.5 }, { address: 192.0.2.6 }, { address: 192.0.2.7 }, { address: 192.0.2.8 },
                            { address: 192.0.2.9 } ]
            """, exitCode: 1, message: "$FILE:2:3: \(backendsFull)"),
        Refusal(command: "apply -f $FILE", file: """
            services:
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: "2001:db8::11" } ]
            """, exitCode: 1,
                message: "$FILE:3:28: VIP 10.0.0.10:80/tcp: backend 2001:db8::11 is IPv6 "
                    + "but encap_source_v6 is not configured"),
        Refusal(command: "apply -f $FILE", file: """
            services:
              - vip: 10.0.0.10:80/tcp
              - vip: 10.0.0.20:80/tcp
                backends: [ { address: 10.0.0.10 } ]
            """, exitCode: 1,
                message: "$FILE:4:28: VIP 10.0.0.20:80/tcp: backend 10.0.0.10 is a VIP address; "
                    + "its packets would loop back to the balancer"),
        Refusal(command: "apply -f $FILE", file: """
            services:
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.11, weight: 70000 } ]
            """, exitCode: 1,
                message: "$FILE:3:48: VIP 10.0.0.10:80/tcp: backend 192.0.2.11 has weight 70000; weights are 0...65535"),
        Refusal(command: "apply -f $FILE", file: """
            services:
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.11, weight: heavy } ]
            """, exitCode: 1, message: "$FILE:3:48: weight: expected an integer, got 'heavy'"),
        Refusal(command: "apply -f $FILE", file: """
            services:
              - vip: 10.0.0.10:80/tcp
                udp_idle_timeout: 30s
            """, exitCode: 1, message: "$FILE:3:23: VIP 10.0.0.10:80/tcp: udp_idle_timeout applies to UDP VIPs only"),
        Refusal(command: "apply -f $FILE", file: """
            services:
              - vip: 10.0.0.10:80/tcp
                health_check: { type: tcp, intervall: 2s }
            """, exitCode: 1, message: #"$FILE:3:43: services[0].health_check: unknown field "intervall""#),
        Refusal(command: "apply -f $FILE", file: """
            services:
              - vip: 10.0.0.10:80/tcp
                health_check: { type: tcp, min_up: 0 }
            """, exitCode: 1, message: "$FILE:3:40: services[0].health_check: min_up must be at least 1 (got 0)"),
        Refusal(command: "apply -f $FILE", file: """
            services:
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.11, health_check: { type: ping } } ]
            """, exitCode: 1,
                message: #"$FILE:3:62: services[0].backends[0].health_check: type "ping" is not one of none, tcp, http, https"#),
        // Latin-1, as an old editor may save it: é is byte E9, not UTF-8.
        Refusal(command: "apply -f $FILE", file: "services:\n  - vip: 10.0.0.10:80/tcp  # café\n", encoding: .isoLatin1,
                exitCode: 2, message: "cannot read $FILE: not UTF-8 text"),
        Refusal(command: "apply -f $DIR/missing.yaml", exitCode: 2,
                message: "cannot read $DIR/missing.yaml: No such file or directory"),
        Refusal(command: "apply -f $DIR", exitCode: 2, message: "cannot read $DIR: Is a directory"),
    ]

    /// Runs each refusal through the real lbctl against the real lbd, checking after each
    /// that nothing changed since before the first.
    private func assertRefusedWithoutChange(_ refusals: [Refusal]) async throws {
        let lbd = try await RunningDaemon(self)
        let before = try lbd.snapshot()
        let servicesFile = lbd.directory + "/services.yaml"
        for refusal in refusals {
            let expand = { (text: String) in
                text.replacingOccurrences(of: "$FILE", with: servicesFile)
                    .replacingOccurrences(of: "$DIR", with: lbd.directory)
            }
            if let contents = refusal.file {
                try contents.write(toFile: servicesFile, atomically: true, encoding: refusal.encoding)
            }
            let arguments = ["--socket", lbd.socket] + expand(refusal.command).split(separator: " ").map(String.init)
            let output = try runProcess(try LbctlBinary.path, arguments)
            let row = "lbctl \(refusal.command)" + (refusal.file.map { " of\n\($0)\n" } ?? "")
            XCTAssertEqual(output.status, refusal.exitCode, "\(row): \(output.stderr)")
            XCTAssertEqual(output.stdout, "", row)
            XCTAssertEqual(output.stderr, "lbctl: \(expand(refusal.message))\n", row)
            try lbd.assertUnchanged(since: before, after: row)
        }
        let exit = try await lbd.daemon.stop(SIGTERM)
        XCTAssertEqual(exit, 0, lbd.daemon.output)
    }

    // MARK: SIGHUP

    /// A configuration that a reload must refuse whole, and the log line that says why.
    private struct BrokenReload {
        let change: String
        var extra = ""
        var services = RunningDaemon.seededServices
        var keepsEncapSourceV4 = true
        var removesFile = false
        /// In the log after `msg="reload refused`; `$CONFIG` is the configuration's path.
        let logged: String
    }

    private static let refusedForErrors = #": the configuration has errors; nothing changed" errors="$CONFIG"#

    /// Most also ask for MTU 9000, which must not reach lb_config either.
    private static let brokenReloads: [BrokenReload] = [
        BrokenReload(change: "a YAML syntax error", extra: "mtu: 9000\nudp_idle_timeout: [30s\n",
                     logged: refusedForErrors + ":7:11: YAML syntax: while parsing a flow sequence at 6:19: did not find "
                        + "expected ',' or ']'\""),
        BrokenReload(change: "a value out of range", extra: "mtu: 9000\nudp_idle_timeout: 0s\n",
                     logged: refusedForErrors + ":6:19: udp_idle_timeout: bad UDP idle timeout '0s': "
                        + "whole seconds from 1s to 24h\""),
        BrokenReload(change: "an unknown key", extra: "mtu: 9000\ncolour: blue\n",
                     logged: refusedForErrors + ":6:1: unknown key 'colour' in the configuration (expected one of: interface, "
                        + "xdp_mode, gateway_mac, encap_source_v4, encap_source_v6, mtu, udp_idle_timeout, tcp_idle_timeout, "
                        + "tcp_linger, api_socket, metrics_listen, state_dir, bpf_pin_dir, limits, announce, flood, services)\""),
        BrokenReload(change: "an invalid seed service", extra: "mtu: 9000\n", services: """
                       - vip: 10.0.0.10:80/tcp
                       - vip: 10.0.0.10:80/tcp
                     """, logged: refusedForErrors + ":12:10: VIP 10.0.0.10:80/tcp is defined more than once\""),
        BrokenReload(change: "the IPv4 encapsulation source removed while the state has IPv4 backends",
                     extra: "mtu: 9000\n", services: "  []", keepsEncapSourceV4: false,
                     logged: #": the services need the encapsulation sources removed; nothing changed" "#
                        + #"error="VIP 10.0.0.10:53/udp: backend 192.0.2.21 is IPv4 but encap_source_v4 is not configured"#),
        BrokenReload(change: "the file removed", removesFile: true,
                     logged: refusedForErrors + ": cannot read: No such file or directory\""),
    ]

    func testARefusedReloadKeepsTheRunningSettings() async throws {
        let lbd = try await RunningDaemon(self)
        let before = try lbd.snapshot()
        for (index, broken) in Self.brokenReloads.enumerated() {
            if broken.removesFile {
                try FileManager.default.removeItem(atPath: lbd.config)
            } else {
                try lbd.writeConfig(extra: broken.extra, services: broken.services,
                                    encapSourceV4: broken.keepsEncapSourceV4)
            }
            kill(lbd.daemon.process.processIdentifier, SIGHUP)
            try await lbd.daemon.waitForOutput("msg=\"reload refused", count: index + 1)
            let logged = "msg=\"reload refused" + broken.logged.replacingOccurrences(of: "$CONFIG", with: lbd.config)
            XCTAssertTrue(lbd.daemon.output.contains(logged), "\(broken.change): \(lbd.daemon.output)")
            XCTAssertTrue(lbd.daemon.process.isRunning, broken.change)
            try lbd.assertUnchanged(since: before, after: "SIGHUP with \(broken.change)")
        }

        // The daemon still reloads a good file, and finds nothing to change.
        try lbd.writeConfig()
        kill(lbd.daemon.process.processIdentifier, SIGHUP)
        try await lbd.daemon.waitForOutput("msg=\"configuration reloaded\" changed=nothing", count: 1)
        try lbd.assertUnchanged(since: before, after: "SIGHUP with the original file")
        let exit = try await lbd.daemon.stop(SIGTERM)
        XCTAssertEqual(exit, 0, lbd.daemon.output)
    }

    /// `lbd reload` (the unit's ExecReload) fails with the reason whenever the reload is
    /// refused — a valid file whose settings lbd cannot apply included — changing nothing;
    /// an applied one prints what changed and what it did not apply.
    func testLbdReloadFailsWithTheReasonOfARefusal() async throws {
        let lbd = try await RunningDaemon(self)
        let before = try lbd.snapshot()
        for broken in Self.brokenReloads {
            if broken.removesFile {
                try FileManager.default.removeItem(atPath: lbd.config)
            } else {
                try lbd.writeConfig(extra: broken.extra, services: broken.services,
                                    encapSourceV4: broken.keepsEncapSourceV4)
            }
            let output = try runProcess(try LBDBinary.path, ["reload", "--config", lbd.config])
            XCTAssertEqual(output.status, 1, "\(broken.change): \(output)")
            XCTAssertEqual(output.stdout, "", broken.change)
            XCTAssertTrue(output.stderr.contains("reload refused: "), "\(broken.change): \(output.stderr)")
            try lbd.assertUnchanged(since: before, after: "lbd reload with \(broken.change)")
        }
        // The one a file check cannot see: lbd's answer is the reason.
        try lbd.writeConfig(services: "  []", encapSourceV4: false)
        let refused = try runProcess(try LBDBinary.path, ["reload", "--config", lbd.config])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.hasPrefix("lbctl: reload refused: the services need the encapsulation sources removed; "
            + "nothing changed: VIP 10.0.0.10:53/udp: backend 192.0.2.21 is IPv4 but encap_source_v4 is not configured\n"),
            refused.stderr)

        try lbd.writeConfig(extra: "mtu: 9000\nmetrics_listen: 127.0.0.1:9751\n", services: "  - vip: 10.0.0.99:80/tcp")
        let applied = try runProcess(try LBDBinary.path, ["reload", "--config", lbd.config])
        XCTAssertEqual(applied, ProcessOutput(stdout: """
            reloaded: mtu 1500 -> 9000
            note: metrics_listen changed in the file: it takes effect at the next restart
            note: services: in the configuration differ from the saved state (\(lbd.directory)/state/state.json): \
            they seed the first start only; use lbctl apply to change the running services

            """, stderr: "", status: 0))
        let exit = try await lbd.daemon.stop(SIGTERM)
        XCTAssertEqual(exit, 0, lbd.daemon.output)
    }

    // MARK: lbd check

    /// A configuration `lbd check` refuses, and its errors as `LINE:COL: message`.
    private struct InvalidConfiguration {
        let yaml: String
        let errors: [String]
    }

    /// Problems CheckCommandTests does not already show.
    private static let invalidConfigurations: [InvalidConfiguration] = [
        InvalidConfiguration(yaml: "", errors: ["1:1: the configuration is empty; 'interface' is required"]),
        InvalidConfiguration(yaml: "gateway_mac: 02:00:00:00:00:01\n",
                             errors: ["1:1: 'interface' is required: the network interface to attach the balancer to"]),
        InvalidConfiguration(yaml: "interface: eth0\nlimits: { max_vips: 4\n", errors: [
            "3:1: YAML syntax: while parsing a flow mapping at 2:9: did not find expected ',' or '}'",
        ]),
        InvalidConfiguration(yaml: "interface: eth0\ninterface: eth1\n", errors: [
            "1:1: YAML syntax: key 'interface' appears more than once in a mapping",
        ]),
        InvalidConfiguration(yaml: "interface: averyverylongname0\n", errors: [
            "1:12: interface: bad interface name 'averyverylongname0': 1 to 15 characters, without '/', ':' or spaces",
        ]),
        InvalidConfiguration(yaml: "interface: eth0\ngateway_mac: 01:00:5e:00:00:01\n", errors: [
            "2:14: gateway_mac: bad MAC address '01:00:5e:00:00:01': a multicast address cannot be a gateway",
        ]),
        InvalidConfiguration(yaml: "interface: eth0\nencap_source_v4: 2001:db8::/64\n", errors: [
            "2:18: encap_source_v4: 2001:db8::/64 is IPv6; expected an IPv4 prefix",
        ]),
        InvalidConfiguration(yaml: "interface: eth0\nudp_idle_timeout: 30x\n", errors: [
            "2:19: udp_idle_timeout: bad duration '30x': expected a whole number and a unit (ms, s, m, h), e.g. 30s",
        ]),
        InvalidConfiguration(yaml: "interface: eth0\napi_socket: lbd.sock\n", errors: [
            "2:13: api_socket: bad path 'lbd.sock': expected an absolute path",
        ]),
        InvalidConfiguration(yaml: "interface: eth0\nlimits: { max_vips: 0, max_vip: 4 }\n", errors: [
            "2:21: limits.max_vips 0 is out of range 1...65536",
            "2:24: unknown key 'max_vip' in limits (expected one of: max_vips, max_backends, ring_size, connection_table)",
        ]),
        InvalidConfiguration(yaml: "interface: eth0\nlimits: { max_backends: four }\n", errors: [
            "2:25: limits.max_backends: expected an integer, got 'four'",
        ]),
        InvalidConfiguration(yaml: "interface: eth0\nlimits: { ring_size: 1000 }\n", errors: [
            "2:22: limits.ring_size: table size 1000 is not prime (nearest larger prime: 1009)",
        ]),
        InvalidConfiguration(yaml: """
            interface: eth0
            encap_source_v4: 172.16.0.0/16
            limits: { max_vips: 1 }
            services:
              - vip: 10.0.0.10:80/tcp
              - vip: 10.0.0.11:80/tcp
            """, errors: ["5:3: 2 VIPs exceed limits.max_vips 1"]),
        InvalidConfiguration(yaml: """
            interface: eth0
            encap_source_v4: 172.16.0.0/16
            services:
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.11 }, { address: 192.0.2.11 } ]
            """, errors: ["5:53: VIP 10.0.0.10:80/tcp: backend 192.0.2.11 is listed more than once"]),
        InvalidConfiguration(yaml: """
            interface: eth0
            encap_source_v4: 172.16.0.0/16
            services:
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: "2001:db8::11" } ]
            """, errors: ["5:28: VIP 10.0.0.10:80/tcp: backend 2001:db8::11 is IPv6 but encap_source_v6 is not configured"]),
        InvalidConfiguration(yaml: """
            interface: eth0
            encap_source_v6: 2001:db8:ffff::/64
            services:
              - vip: "[2001:db8::10]:443/tcp"
                backends: [ { address: 192.0.2.11 } ]
            """, errors: [
                "5:28: VIP [2001:db8::10]:443/tcp: backend 192.0.2.11 is IPv4; an IPv6 VIP needs IPv6 backends "
                    + "(the datapath has no 6-in-4)",
            ]),
        InvalidConfiguration(yaml: """
            interface: eth0
            encap_source_v4: 172.16.0.0/16
            services:
              - vip: 10.0.0.10:53/udp
                udp_idle_timeout: 90000s
                backends: [ { address: 127.0.0.1 } ]
            """, errors: [
                "5:23: VIP 10.0.0.10:53/udp: udp_idle_timeout 25h must be whole seconds from 1s to 24h",
                "6:28: VIP 10.0.0.10:53/udp: backend 127.0.0.1 is a loopback address; a backend needs a unicast address",
            ]),
        InvalidConfiguration(yaml: """
            interface: eth0
            encap_source_v4: 172.16.0.0/16
            services:
              - vip: 10.0.0.10:80/tcp
                backends: [ { address: 192.0.2.11, drained: yes } ]
            """, errors: ["5:49: drained: expected true or false, got 'yes'"]),
    ]

    func testCheckNamesEveryProblemAtItsPosition() throws {
        let file = try temporaryDirectory(self) + "/lbd.yaml"
        for configuration in Self.invalidConfigurations {
            try configuration.yaml.write(toFile: file, atomically: true, encoding: .utf8)
            let output = try runProcess(try LBDBinary.path, ["check", "--config", file])
            XCTAssertEqual(output.status, 1, configuration.yaml)
            XCTAssertEqual(output.stdout, "", configuration.yaml)
            XCTAssertEqual(output.stderr, configuration.errors.map { "\(file):\($0)\n" }.joined(), configuration.yaml)
        }
    }
}

/// The real lbd in its own namespace, seeded with `seededServices`, and
/// what a refusal must leave as it is.
private final class RunningDaemon {
    let network: NamespaceNetwork
    let directory: String
    let pins: String
    let daemon: DaemonProcess
    var socket: String { directory + "/run/lbd.sock" }
    var config: String { directory + "/lbd.yaml" }

    /// The state file and every pinned map but the counters and the connection table,
    /// which traffic and time may change.
    private static let comparedMaps = ["vip_map", "vips", "vip_filter", "vip_addrs", "backends", "rings", "config"]

    /// At the limits (4 VIPs, 8 backend addresses), no IPv6 encapsulation source.
    static let seededServices = """
          - vip: 10.0.0.10:80/tcp
            backends: [ { address: 192.0.2.11 }, { address: 192.0.2.12, weight: 50 }, { address: 192.0.2.13, drained: true } ]
          - vip: 10.0.0.10:53/udp
            hash: source
            udp_idle_timeout: 10s
            backends: [ { address: 192.0.2.21 }, { address: 192.0.2.22 } ]
          - vip: 10.0.0.20:443/tcp
            backends: [ { address: 192.0.2.31 }, { address: 192.0.2.32 }, { address: 192.0.2.33 } ]
          - vip: "[2001:db8::10]:443/tcp"
            backends: []
        """

    struct Snapshot {
        var stateFile: Data
        var maps: [String: String]
    }

    init(_ test: XCTestCase) async throws {
        try requireRoot("the daemon's kernel tests")
        network = try NamespaceNetwork(test)
        directory = try temporaryDirectory(test)
        pins = "/sys/fs/bpf/\(network.namespace)"
        test.addTeardownBlock { [pins] in _ = try? BalancerDatapath.removePins(pinDirectory: pins) }
        try Self.writeConfig(to: directory + "/lbd.yaml", network: network, directory: directory, pins: pins)
        daemon = try DaemonProcess(network: network, config: directory + "/lbd.yaml", log: directory + "/lbd.log")
        daemon.killAtTeardown(of: test)
        try await daemon.waitForAPI(socket)
    }

    func writeConfig(extra: String = "", services: String = RunningDaemon.seededServices,
                     encapSourceV4: Bool = true) throws {
        try Self.writeConfig(to: config, network: network, directory: directory, pins: pins, extra: extra,
                             services: services, encapSourceV4: encapSourceV4)
    }

    /// Small limits, so that the seeded services are at both.
    private static func writeConfig(to path: String, network: NamespaceNetwork, directory: String, pins: String,
                                    extra: String = "", services: String = seededServices,
                                    encapSourceV4: Bool = true) throws {
        try writeDaemonConfig(to: path, network: network, socket: directory + "/run/lbd.sock", directory: directory,
                              pins: pins, limits: "{ max_vips: 4, max_backends: 8, ring_size: 1009, connection_table: 4096 }",
                              services: services, extra: extra)
        guard !encapSourceV4 else { return }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "encap_source_v4: 172.16.0.0/16\n", with: "")
            .write(toFile: path, atomically: true, encoding: .utf8)
    }

    func snapshot() throws -> Snapshot {
        var maps: [String: String] = [:]
        for name in Self.comparedMaps {
            maps[name] = try shell("bpftool", "--json", "map", "dump", "pinned", "\(pins)/\(name)")
        }
        let state = StateStore(directory: directory + "/state").path
        return Snapshot(stateFile: try Data(contentsOf: URL(fileURLWithPath: state)), maps: maps)
    }

    /// Fails, naming `input`, for each part that differs from `before`.
    func assertUnchanged(since before: Snapshot, after input: String) throws {
        let now = try snapshot()
        XCTAssertTrue(now.stateFile == before.stateFile, "\(input): state.json changed")
        for name in Self.comparedMaps where now.maps[name] != before.maps[name] {
            XCTFail("\(input): the \(name) map changed")
        }
    }
}
