import Foundation
import LBDAPI
import XCTest

/// lbd's answers are JSONEncoder's indented output with sorted keys, which `lbctl --json`
/// prints as it is: every 64-bit counter exact, fractions as Swift prints them, absent
/// optional fields left out and the ones the contract writes as null kept.
final class AnswerEncodingTests: XCTestCase {
    func testStatusAnswerBytes() {
        let status = StatusResponse(
            services: [.init(vip: "10.0.0.10:80/tcp", hash: "5tuple", state: "ok", backendsUp: 1, minUp: 1, panicThreshold: 0,
                             panic: false, packets: .max, bytes: 1 << 60, syns: 0, newFlows: 3, connMisses: 0,
                             backends: [.init(address: "192.0.2.11", weight: 100, drained: false, health: "unchecked",
                                              ringSlots: 1009, ringShare: 1, packets: .max, bytes: 0)])],
            datapath: .init(attached: nil, interface: "eth0", adopted: false), connectionTable: nil, announce: nil)
        XCTAssertEqual(String(decoding: APIEncoding.answer(status), as: UTF8.self), """
            {
              "datapath" : {
                "adopted" : false,
                "attached" : null,
                "interface" : "eth0"
              },
              "services" : [
                {
                  "backends" : [
                    {
                      "address" : "192.0.2.11",
                      "bytes" : 0,
                      "drained" : false,
                      "health" : "unchecked",
                      "packets" : 18446744073709551615,
                      "ring_share" : 1,
                      "ring_slots" : 1009,
                      "weight" : 100
                    }
                  ],
                  "backends_up" : 1,
                  "bytes" : 1152921504606846976,
                  "conn_misses" : 0,
                  "hash" : "5tuple",
                  "min_up" : 1,
                  "new_flows" : 3,
                  "packets" : 18446744073709551615,
                  "panic" : false,
                  "panic_threshold" : 0,
                  "state" : "ok",
                  "syns" : 0,
                  "vip" : "10.0.0.10:80/tcp"
                }
              ]
            }

            """)
    }

    /// What lbd writes, lbctl reads back to the same value.
    func testAnswersReadBackAsWritten() throws {
        let services = ServicesResponse(services: [.init(
            vip: "10.0.0.20:53/udp", hash: "source", udpIdleTimeout: "30s",
            backends: [.init(address: "192.0.2.11", weight: 7, drained: true,
                             healthCheck: .object(["type": .string("tcp"), "rise": .integer(2), "jitter": .number(0.1)]))],
            healthCheck: nil)])
        let body = Array(APIEncoding.answer(services))
        XCTAssertEqual(try LBDClient.decode(ServicesResponse.self, from: body, endpoint: "/v1/services"), services)
    }
}
