@testable import LbctlCore
import XCTest

/// The edit commands: the exact request each sends, its confirmation, and lbd's refusals.
final class EditCommandTests: LbctlTestCase {
    private static let ok = FakeDaemon.Answer.json(200, #"{"ok":true}"#)

    func testEveryEditSendsExactlyItsRequest() {
        daemon.answer("POST", "/v1/edit", Self.ok)
        let cases: [(arguments: [String], body: String, output: String)] = [
            (["vip", "add", "10.0.0.10:80/tcp"],
             #"{"op":"add_vip","vip":"10.0.0.10:80/tcp"}"#, "added VIP 10.0.0.10:80/tcp"),
            (["vip", "add", "[2001:DB8:0::10]:443/tcp", "--hash", "source"],
             #"{"hash":"source","op":"add_vip","vip":"[2001:db8::10]:443/tcp"}"#, "added VIP [2001:db8::10]:443/tcp"),
            (["vip", "add", "10.0.0.20:53/udp", "--udp-idle-timeout", "2m", "--hash", "5tuple"],
             #"{"hash":"5tuple","op":"add_vip","udp_idle_timeout":"2m","vip":"10.0.0.20:53/udp"}"#,
             "added VIP 10.0.0.20:53/udp"),
            (["vip", "add", "10.0.0.20:443/udp", "--quic"],
             #"{"op":"add_vip","quic":true,"vip":"10.0.0.20:443/udp"}"#, "added VIP 10.0.0.20:443/udp"),
            (["vip", "add", "10.0.0.20:443/udp", "--quic", "--quic-server-id-length", "1", "--quic-connection-id-length", "4"],
             #"{"op":"add_vip","quic":true,"quic_connection_id_length":4,"quic_server_id_length":1,"vip":"10.0.0.20:443/udp"}"#,
             "added VIP 10.0.0.20:443/udp"),
            (["backend", "add", "10.0.0.20:443/udp", "192.0.2.11", "--quic-server-id", "7"],
             #"{"address":"192.0.2.11","op":"add_backend","quic_server_id":7,"vip":"10.0.0.20:443/udp"}"#,
             "added backend 192.0.2.11 to 10.0.0.20:443/udp"),
            (["vip", "add", "10.0.0.30:0/tcp"],
             #"{"op":"add_vip","vip":"10.0.0.30:0/tcp"}"#, "added VIP 10.0.0.30:0/tcp"),
            (["vip", "add", "10.0.0.31:0/tcp", "--force"],
             #"{"force":true,"op":"add_vip","vip":"10.0.0.31:0/tcp"}"#, "added VIP 10.0.0.31:0/tcp"),
            (["vip", "remove", "10.0.0.10:80/tcp"],
             #"{"op":"remove_vip","vip":"10.0.0.10:80/tcp"}"#, "removed VIP 10.0.0.10:80/tcp"),
            (["backend", "add", "10.0.0.10:80/tcp", "192.0.2.11"],
             #"{"address":"192.0.2.11","op":"add_backend","vip":"10.0.0.10:80/tcp"}"#,
             "added backend 192.0.2.11 to 10.0.0.10:80/tcp"),
            (["backend", "add", "10.0.0.10:80/tcp", "192.0.2.12", "--weight", "250"],
             #"{"address":"192.0.2.12","op":"add_backend","vip":"10.0.0.10:80/tcp","weight":250}"#,
             "added backend 192.0.2.12 to 10.0.0.10:80/tcp"),
            (["backend", "add", "[2001:db8::10]:443/tcp", "2001:0db8::21", "--weight=0"],
             #"{"address":"2001:db8::21","op":"add_backend","vip":"[2001:db8::10]:443/tcp","weight":0}"#,
             "added backend 2001:db8::21 to [2001:db8::10]:443/tcp"),
            (["backend", "add", "10.0.0.10:80/tcp", "2001:db8::31"],
             #"{"address":"2001:db8::31","op":"add_backend","vip":"10.0.0.10:80/tcp"}"#,
             "added backend 2001:db8::31 to 10.0.0.10:80/tcp"),
            (["backend", "remove", "10.0.0.10:80/tcp", "192.0.2.11"],
             #"{"address":"192.0.2.11","op":"remove_backend","vip":"10.0.0.10:80/tcp"}"#,
             "removed backend 192.0.2.11 from 10.0.0.10:80/tcp"),
            (["backend", "set", "10.0.0.10:80/tcp", "192.0.2.11", "--weight", "50"],
             #"{"address":"192.0.2.11","op":"set_weight","vip":"10.0.0.10:80/tcp","weight":50}"#,
             "set the weight of 192.0.2.11 in 10.0.0.10:80/tcp to 50"),
            (["backend", "set", "--weight", "65535", "10.0.0.10:80/tcp", "192.0.2.11"],
             #"{"address":"192.0.2.11","op":"set_weight","vip":"10.0.0.10:80/tcp","weight":65535}"#,
             "set the weight of 192.0.2.11 in 10.0.0.10:80/tcp to 65535"),
            (["backend", "drain", "10.0.0.10:80/tcp", "192.0.2.11"],
             #"{"address":"192.0.2.11","op":"drain","vip":"10.0.0.10:80/tcp"}"#, "drained 192.0.2.11 in 10.0.0.10:80/tcp"),
            (["backend", "undrain", "10.0.0.10:80/tcp", "192.0.2.11"],
             #"{"address":"192.0.2.11","op":"undrain","vip":"10.0.0.10:80/tcp"}"#,
             "undrained 192.0.2.11 in 10.0.0.10:80/tcp"),
            (["backend", "drain", "192.0.2.11"],
             #"{"address":"192.0.2.11","op":"drain"}"#, "drained 192.0.2.11 in every VIP that has it"),
            (["backend", "undrain", "2001:db8::21"],
             #"{"address":"2001:db8::21","op":"undrain"}"#, "undrained 2001:db8::21 in every VIP that has it"),
        ]
        for (index, testCase) in cases.enumerated() {
            let result = lbctl(testCase.arguments)
            XCTAssertEqual(result, success(testCase.output + "\n"), "\(testCase.arguments)")
            XCTAssertEqual(daemon.requests.count, index + 1, "\(testCase.arguments)")
            XCTAssertEqual(daemon.requests.last, .init(method: "POST", target: "/v1/edit",
                                                       contentType: "application/json", body: testCase.body),
                           "\(testCase.arguments)")
        }
    }

    /// lbd found the state already so (a retried request): success, said plainly.
    func testAnEditThatChangedNothingSaysUnchanged() {
        daemon.answer("POST", "/v1/edit", .json(200, #"{"changed":false,"ok":true,"version":"00000000000000a1"}"#))
        let cases: [(arguments: [String], output: String)] = [
            (["vip", "add", "10.0.0.10:80/tcp"], "unchanged: VIP 10.0.0.10:80/tcp already exists so"),
            (["backend", "add", "10.0.0.10:80/tcp", "192.0.2.11"],
             "unchanged: 10.0.0.10:80/tcp already has backend 192.0.2.11 with weight 100"),
            (["backend", "add", "10.0.0.10:80/tcp", "192.0.2.11", "--weight", "7"],
             "unchanged: 10.0.0.10:80/tcp already has backend 192.0.2.11 with weight 7"),
            (["backend", "set", "10.0.0.10:80/tcp", "192.0.2.11", "--weight", "50"],
             "unchanged: 192.0.2.11 in 10.0.0.10:80/tcp already has weight 50"),
            (["backend", "drain", "10.0.0.10:80/tcp", "192.0.2.11"],
             "unchanged: 192.0.2.11 is already drained in 10.0.0.10:80/tcp"),
            (["backend", "drain", "192.0.2.11"], "unchanged: 192.0.2.11 is already drained in every VIP that has it"),
            (["backend", "undrain", "192.0.2.11"], "unchanged: 192.0.2.11 is not drained in every VIP that has it"),
        ]
        for testCase in cases {
            XCTAssertEqual(lbctl(testCase.arguments), success(testCase.output + "\n"), "\(testCase.arguments)")
        }
    }

    func testJSONPrintsLbdsAnswerToTheEdit() {
        let answer = #"{"changed":true,"ok":true,"version":"00000000000000a2"}"#
        daemon.answer("POST", "/v1/edit", .json(200, answer))
        for arguments in [["vip", "add", "10.0.0.10:80/tcp", "--json"], ["backend", "drain", "--json", "192.0.2.11"],
                          ["vip", "remove", "10.0.0.10:80/tcp", "--json"]] {
            XCTAssertEqual(lbctl(arguments), success(answer + "\n"), "\(arguments)")
        }
    }

    /// Saved but not yet in the maps (lbd retries): exit 4, which a script must not
    /// treat as refused (1) nor retry as unreachable (3).
    func testAnEditSavedButNotYetInTheDatapathExitsFour() {
        let message = "saved, but the datapath is not up to date yet (retrying): datapath write failed: injected"
        daemon.answer("POST", "/v1/edit", .json(500, #"{"code":"datapath_pending","error":"\#(message)"}"#))
        XCTAssertEqual(lbctl("backend", "add", "10.0.0.10:80/tcp", "192.0.2.11"), failure(4, "lbctl: \(message)\n"))
        // Another 500 (the state file could not be written: nothing changed) stays a refusal.
        daemon.answer("POST", "/v1/edit", .json(500, #"{"error":"not saved, nothing changed: disk full"}"#))
        XCTAssertEqual(lbctl("backend", "add", "10.0.0.10:80/tcp", "192.0.2.11"),
                       failure(1, "lbctl: not saved, nothing changed: disk full\n"))
    }

    func testRefusalsExitOneWithLbdsReason() {
        daemon.answer("POST", "/v1/edit", .json(409, #"{"error":"VIP 10.0.0.10:80/tcp already exists"}"#))
        XCTAssertEqual(lbctl("vip", "add", "10.0.0.10:80/tcp"), failure(1, "lbctl: VIP 10.0.0.10:80/tcp already exists\n"))

        daemon.answer("POST", "/v1/edit", .json(404, #"{"error":"VIP 10.0.0.10:80/tcp has no backend 192.0.2.99"}"#))
        XCTAssertEqual(lbctl("backend", "drain", "10.0.0.10:80/tcp", "192.0.2.99"),
                       failure(1, "lbctl: VIP 10.0.0.10:80/tcp has no backend 192.0.2.99\n"))

        daemon.answer("POST", "/v1/edit", .json(400, """
            {"error":"VIP 10.0.0.10:80/tcp: backend 2001:db8::31 is IPv6 but encap_source_v6 is not configured\\n\
            1025 distinct backend addresses exceed limits.max_backends 1024"}
            """))
        XCTAssertEqual(lbctl("backend", "add", "10.0.0.10:80/tcp", "2001:db8::31"), failure(1, """
            lbctl: VIP 10.0.0.10:80/tcp: backend 2001:db8::31 is IPv6 but encap_source_v6 is not configured
            lbctl: 1025 distinct backend addresses exceed limits.max_backends 1024

            """))

        daemon.answer("POST", "/v1/edit", .text(500, contentType: "text/plain", "internal error"))
        XCTAssertEqual(lbctl("vip", "remove", "10.0.0.10:80/tcp"),
                       failure(1, "lbctl: lbd answered POST /v1/edit with HTTP 500\n"))
    }

    func testAnOlderLbdWithoutTheEndpoint() {
        // No answer scripted: the fake lbd answers 404 {"error":"no such endpoint"}.
        XCTAssertEqual(lbctl("backend", "undrain", "10.0.0.10:80/tcp", "192.0.2.11"),
                       failure(1, "lbctl: no such endpoint\n"))
    }
}
