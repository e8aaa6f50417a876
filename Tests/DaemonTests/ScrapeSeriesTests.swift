@testable import Daemon
import XCTest

/// Scrape-time series: totals become counters that only grow (restarted when a total
/// goes back), and a series a scrape no longer reports disappears.
final class ScrapeSeriesTests: XCTestCase {
    private func exposition(_ series: ScrapeSeries, _ fill: (inout ScrapeSamples) -> Void) -> [String] {
        var samples = ScrapeSamples()
        fill(&samples)
        return String(decoding: series.update(samples), as: UTF8.self).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }.map(String.init).sorted()
    }

    func testTotalsGoneAndReset() {
        let series = ScrapeSeries(help: ["lbd_vip_packets_total": "Packets."])
        XCTAssertEqual(exposition(series) {
            $0.counter("lbd_vip_packets_total", [("vip", "a")], 5)
            $0.counter("lbd_vip_packets_total", [("vip", "b")], 7)
            $0.gauge("lbd_vip_degraded", [("vip", "a")], 1)
        }, [#"lbd_vip_degraded{vip="a"} 1.0"#, #"lbd_vip_packets_total{vip="a"} 5"#, #"lbd_vip_packets_total{vip="b"} 7"#])
        XCTAssertEqual(exposition(series) {
            $0.counter("lbd_vip_packets_total", [("vip", "a")], 12)
            $0.gauge("lbd_vip_degraded", [("vip", "a")], 0)
        }, [#"lbd_vip_degraded{vip="a"} 0.0"#, #"lbd_vip_packets_total{vip="a"} 12"#], "b removed")
        XCTAssertEqual(exposition(series) {
            $0.counter("lbd_vip_packets_total", [("vip", "a")], 3)
        }, [#"lbd_vip_packets_total{vip="a"} 3"#], "the datapath restarted its counters")
    }
}
