@testable import LbctlCore
import XCTest

/// Bad command lines: exit 2, one line naming the problem, and nothing sent to lbd.
final class UsageErrorTests: LbctlTestCase {
    func testBadArgumentsAreRefusedBeforeAnyRequest() {
        let cases: [(arguments: [String], error: String)] = [
            (["vip", "add", "10.0.0.300:80/tcp"],
             "bad VIP '10.0.0.300:80/tcp': bad IPv4 address '10.0.0.300': 300 is above 255"),
            (["vip", "add", "10.0.0.10:80"],
             "bad VIP '10.0.0.10:80': no protocol; expected address:port/proto, e.g. 10.0.0.10:80/tcp or "
                + "[2001:db8::10]:443/tcp"),
            (["vip", "add", "2001:db8::10:443/tcp"],
             "bad VIP '2001:db8::10:443/tcp': an IPv6 address needs brackets: [2001:db8::10]:443/tcp"),
            (["vip", "add", "10.0.0.10:80/tcp", "--hash", "roundrobin"],
             "bad hash mode 'roundrobin': expected 5tuple or source"),
            (["vip", "add", "10.0.0.10:80/tcp", "--udp-idle-timeout", "30s"],
             "VIP 10.0.0.10:80/tcp: udp_idle_timeout applies to UDP VIPs only"),
            (["vip", "add", "10.0.0.10:53/udp", "--udp-idle-timeout", "30"],
             "bad duration '30': expected a whole number and a unit (ms, s, m, h), e.g. 30s"),
            (["vip", "add", "10.0.0.10:53/udp", "--udp-idle-timeout", "500ms"],
             "VIP 10.0.0.10:53/udp: udp_idle_timeout 500ms must be whole seconds from 1s to 24h"),
            (["vip", "add", "10.0.0.10:443/tcp", "--quic"], "VIP 10.0.0.10:443/tcp: quic applies to UDP VIPs only"),
            (["vip", "add", "10.0.0.10:443/udp", "--quic-server-id-length", "2"],
             "--quic-server-id-length and --quic-connection-id-length need --quic"),
            (["vip", "add", "10.0.0.10:443/udp", "--quic", "--quic-server-id-length", "5"],
             "VIP 10.0.0.10:443/udp: quic_server_id_length 5 must be 1...4 and quic_connection_id_length 8 from "
                + "quic_server_id_length + 1 to 20"),
            (["vip", "add", "127.0.0.1:80/tcp"],
             "VIP 127.0.0.1:80/tcp: 127.0.0.1 is a loopback address; a VIP needs a unicast address"),
            (["vip", "add"], "missing expected argument '<vip>' (see 'lbctl vip add --help')"),
            (["vip", "remove", "10.0.0.10:80/sctp"], "bad VIP '10.0.0.10:80/sctp': protocol 'sctp' is not tcp or udp"),
            (["backend", "add", "10.0.0.10:80/tcp", "192.0.2.256"], "bad IPv4 address '192.0.2.256': 256 is above 255"),
            (["backend", "add", "10.0.0.10:80/tcp", "192.0.2.11", "--weight", "65536"],
             "VIP 10.0.0.10:80/tcp: backend 192.0.2.11 has weight 65536; weights are 0...65535"),
            (["backend", "add", "[2001:db8::10]:443/tcp", "192.0.2.11"],
             "VIP [2001:db8::10]:443/tcp: backend 192.0.2.11 is IPv4; an IPv6 VIP needs IPv6 backends "
                + "(the datapath has no 6-in-4)"),
            (["backend", "add", "10.0.0.10:80/tcp", "10.0.0.10"],
             "VIP 10.0.0.10:80/tcp: backend 10.0.0.10 is a VIP address; its packets would loop back to the balancer"),
            (["backend", "set", "10.0.0.10:80/tcp", "192.0.2.11"],
             "missing expected argument '--weight <n>' (see 'lbctl backend set --help')"),
            (["backend", "set", "10.0.0.10:80/tcp", "192.0.2.11", "--weight", "-1"],
             "VIP 10.0.0.10:80/tcp: backend 192.0.2.11 has weight -1; weights are 0...65535"),
            (["backend", "set", "10.0.0.10:80/tcp", "192.0.2.11", "--weight", "fifty"],
             "the value 'fifty' is invalid for '--weight <n>' (see 'lbctl backend set --help')"),
            (["backend", "drain", "10.0.0.10:80/tcp"],
             "missing expected argument '<address>' (see 'lbctl backend drain --help')"),
            (["backend", "undrain", "10.0.0.10:80/tcp", "::ffff:192.0.2.1"],
             "bad IPv6 address '::ffff:192.0.2.1': an IPv4-mapped address is an IPv4 host; write 192.0.2.1"),
            (["backend", "remove", "10.0.0.10:80/tcp", "192.0.2.011"],
             "bad IPv4 address '192.0.2.011': '011' has a leading zero (octal or decimal?); write it without"),
            (["status", "--bogus"], "unknown option '--bogus' (see 'lbctl status --help')"),
            (["status", "extra"],
             "bad VIP 'extra': no protocol; expected address:port/proto, e.g. 10.0.0.10:80/tcp or [2001:db8::10]:443/tcp"),
            (["status", "10.0.0.10:80/tcp", "extra"], "unexpected argument 'extra' (see 'lbctl status --help')"),
            (["apply", "-f", "x.yaml", "--exit-code"], "--exit-code applies to --dry-run only (see 'lbctl apply --help')"),
            (["apply"], "missing expected argument '--filename <file>' (see 'lbctl apply --help')"),
            (["apply", "-f", "/nonexistent/services.yaml"],
             "cannot read /nonexistent/services.yaml: No such file or directory"),
            (["frobnicate"], "unexpected argument 'frobnicate' (see 'lbctl --help')"),
            (["--socket", "", "status"], "socket path '' must be 1 to 107 bytes long"),
        ]
        for testCase in cases {
            XCTAssertEqual(lbctl(testCase.arguments), failure(2, "lbctl: \(testCase.error)\n"), "\(testCase.arguments)")
        }
        XCTAssertEqual(daemon.requests, [])
    }

    func testHelpAndBareGroupsPrintHelpAndSucceed() {
        let help = lbctl(["--help"])
        XCTAssertEqual(help.exitCode, 0)
        XCTAssertTrue(help.standardOutput.contains("Exit codes"), help.standardOutput)
        for code in ["3  lbd unreachable", "4  saved, but a datapath write failed", "5  apply: the services changed",
                     "6  apply: not confirmed"] {
            XCTAssertTrue(help.standardOutput.contains(code), help.standardOutput)
        }
        let group = lbctl(["backend"])
        XCTAssertEqual(group.exitCode, 0)
        XCTAssertTrue(group.standardOutput.contains("USAGE: lbctl backend <subcommand>"), group.standardOutput)
        XCTAssertTrue(lbctl(["help", "apply"]).standardOutput.contains("--dry-run"))
        XCTAssertEqual(daemon.requests, [])
    }

    func testCompletionScripts() {
        for shell in ["bash", "zsh", "fish"] {
            let result = lbctl(["--generate-completion-script", shell])
            XCTAssertEqual(result.exitCode, 0, shell)
            XCTAssertEqual(result.standardError, "", shell)
            for word in ["vip", "backend", "undrain", "status", "apply", "export", "socket", "dry-run", "5tuple"] {
                XCTAssertTrue(result.standardOutput.contains(word), "\(shell) completion lacks \(word)")
            }
        }
        XCTAssertEqual(lbctl(["--generate-completion-script", "tcsh"]).exitCode, 2)
    }
}
