import Foundation
import TestSupport
import XCTest

/// `lbctl capture` during real traffic on the namespace topology: the pcap file it writes
/// opens in tcpdump and holds each packet as the client sent it and as lbd sent it on,
/// encapsulated toward the backend.
final class PacketCaptureTests: XCTestCase {
    func testACaptureDuringTrafficShowsTheFramesAsReceivedAndAsEncapsulated() async throws {
        let topology = try Topology(self, backends: 1)
        let vip = try topology.value("VIP4"), port = try topology.httpPort
        let backend = try topology.backendAddress(1, .v4), client = try topology.value("CLIENT_IP4")
        let lbd = try await LBD(self, on: topology, services: [Service(vip, port: port, "tcp", backends: [(backend, 100)])])
        let file = try topology.value("TOPOLOGY_DIR") + "/capture.pcap"

        let capture = try lbd.lbctlInBackground("capture", "\(vip):\(port)/tcp", "--count", "4", "--seconds", "30",
                                                "--verdict", "tx", "-w", file)
        try await waitFor("lbd starting the capture:\n\(lbd.output)", every: .milliseconds(50)) {
            lbd.output.contains("capture started")
        }
        XCTAssertEqual(try topology.http(count: 2, topology.url(vip)), Tally(answers: [topology.backendName(1): 2]))
        let (output, _) = try capture.finish()
        XCTAssertEqual(output.status, 0)
        XCTAssertEqual(output.stdout, "8 frames written to \(file)\n")

        let read = try runProcess("/usr/bin/tcpdump", ["-r", file, "-nn", "-e", "-t"])
        XCTAssertEqual(read.status, 0, read.stderr)
        let lines = read.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 8, read.stdout)
        let gateway = try topology.value("GATEWAY_MAC")
        let inner = #"\#(NSRegularExpression.escapedPattern(for: client))\.\d+ > \#(NSRegularExpression.escapedPattern(for: vip))\.\#(port): Flags \[(S|\.|P\.)\]"#
        let outerSource = #"10\.113\.\d+\.\d+"#
        for (index, line) in lines.enumerated() {
            if index % 2 == 0 {
                XCTAssertNotNil(line.range(of: #"ethertype IPv4 \(0x0800\), length \d+: "# + inner, options: .regularExpression),
                                "as received: \(line)")
            } else {
                XCTAssertNotNil(line.range(of: #"^[0-9a-f:]{17} > \#(gateway), ethertype IPv4 \(0x0800\), length \d+: "#
                                           + #"(IP )?\#(outerSource) > \#(NSRegularExpression.escapedPattern(for: backend)): (IP )?"# + inner,
                                           options: .regularExpression), "as sent: \(line)")
            }
        }
        XCTAssertTrue(lines[0].contains("Flags [S]"), "the first packet is the first connection's SYN: \(lines[0])")
    }
}
