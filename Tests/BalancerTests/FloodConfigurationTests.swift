import Balancer
import XCTest

/// The configuration's `flood:` section: defaults, values, and errors at their node.
final class FloodConfigurationTests: XCTestCase {
    func testDefaultsAreNoPerSourceLimitPer24And64AndKatransPerCPULimit() throws {
        XCTAssertEqual(try Configuration(yaml: "interface: eth0\n").flood, FloodSettings())
        XCTAssertEqual(FloodSettings(), FloodSettings(perSourceNewFlows: 0, sourcePrefixV4: 24, sourcePrefixV6: 64,
                                                      newFlowsPerCPU: 125_000))
    }

    func testValuesAreRead() throws {
        let configuration = try Configuration(yaml: """
            interface: eth0
            flood: { per_source_new_flows: 500, source_prefix_v4: 32, source_prefix_v6: 48, new_flows_per_cpu: 0 }
            """)
        XCTAssertEqual(configuration.flood, FloodSettings(perSourceNewFlows: 500, sourcePrefixV4: 32, sourcePrefixV6: 48,
                                                          newFlowsPerCPU: 0))
    }

    func testBadValuesAreReportedAtTheirNode() {
        let cases: [(String, [String])] = [
            ("flood:\n  per_source_new_flows: -1\n  source_prefix_v4: 33\n  source_prefix_v6: 0\n  new_flows_per_cpu: 10000001\n", [
                "3:25: flood.per_source_new_flows: bad new flows per second '-1': expected an integer from 0 to 1000000",
                "4:21: flood.source_prefix_v4: bad IPv4 prefix length '33': expected an integer from 1 to 32",
                "5:21: flood.source_prefix_v6: bad IPv6 prefix length '0': expected an integer from 1 to 128",
                "6:22: flood.new_flows_per_cpu: bad new flows per second per CPU '10000001': expected an integer from 0 to 10000000",
            ]),
            ("flood:\n  new_flows_per_cpu: lots\n", [
                "3:22: flood.new_flows_per_cpu: bad new flows per second per CPU 'lots': expected an integer from 0 to 10000000",
            ]),
            ("flood:\n  per_source_new_flow: 5\n", [
                "3:3: unknown key 'per_source_new_flow' in flood (expected one of: per_source_new_flows, source_prefix_v4, "
                    + "source_prefix_v6, new_flows_per_cpu)",
            ]),
            ("flood: 100\n", ["2:8: flood: expected a mapping (key: value lines), found a single value"]),
        ]
        for (section, expected) in cases {
            let text = "interface: eth0\n" + section
            XCTAssertEqual(Configuration.check(yaml: text).map(\.description), expected, "file:\n\(text)")
        }
    }
}
