import Foundation
import TestSupport
import XCTest

/// contrib/: the Grafana dashboard and the Prometheus alert rules, checked by promtool and
/// against the metric catalogue (docs/metrics.md), so that neither can name a metric lbd
/// does not export; and the promtool helper the /metrics tests use on a real scrape.
final class ObservabilityContribTests: XCTestCase {
    private let alerts = repositoryPath("contrib/prometheus/alerts.yml")
    private let alertTests = repositoryPath("contrib/prometheus/alerts_test.yml")
    private let dashboardPath = repositoryPath("contrib/grafana/lbd.json")

    // MARK: The catalogue

    func testTheCatalogueParserReadsEveryNameInTheFirstColumnWithItsType() {
        let markdown = """
            # title, with `lbd_not_a_metric` in prose

            | metric | type | labels | meaning |
            |---|---|---|---|
            | `lbd_a_total`, `lbd_b_total` | counter | `vip` | two in one row, a label in backticks |
            | `lbd_c_seconds` | histogram | | |
            """
        XCTAssertEqual(MetricCatalogue(markdown: markdown).types,
                       ["lbd_a_total": "counter", "lbd_b_total": "counter", "lbd_c_seconds": "histogram"])
    }

    func testTheCatalogueIsMetricNamesOfKnownTypes() throws {
        let catalogue = try MetricCatalogue.load()
        XCTAssertTrue(catalogue.names.isSuperset(of: ["lbd_datapath_attached", "lbd_vip_bytes_total", "lbd_build_info"]))
        for (name, type) in catalogue.types {
            XCTAssertNotNil(name.wholeMatch(of: /lbd_[a-z0-9_]+/), name)
            XCTAssertTrue(["counter", "gauge", "histogram"].contains(type), "\(name): \(type)")
        }
        XCTAssertEqual(catalogue.types["lbd_health_check_duration_seconds"], "histogram")
    }

    func testAHistogramsSeriesCountAsTheHistogram() throws {
        let catalogue = try MetricCatalogue.load()
        let quantile = "histogram_quantile(0.9, sum by (le) (rate(lbd_health_check_duration_seconds_bucket[5m])))"
        XCTAssertEqual(catalogue.metrics(in: quantile), ["lbd_health_check_duration_seconds"])
        XCTAssertEqual(catalogue.metrics(in: "lbd_health_check_duration_seconds_sum / lbd_health_check_duration_seconds_count"),
                       ["lbd_health_check_duration_seconds"])
        // Only a histogram's: a counter's _count-like name stays what it is, and unknown.
        XCTAssertEqual(catalogue.metrics(in: "rate(lbd_reconciles_count[5m])"), ["lbd_reconciles_count"])
    }

    // MARK: The alert rules

    func testPromtoolAcceptsTheAlertRules() throws {
        let output = try Promtool.run(["check", "rules", alerts])
        XCTAssertEqual(output.status, 0, output.stdout + output.stderr)
        XCTAssertTrue(output.stdout.contains("SUCCESS: 13 rules found"), output.stdout)
        let names = try String(contentsOfFile: alerts, encoding: .utf8).matches(of: /- alert: (\w+)/).map { String($0.output.1) }
        XCTAssertEqual(names, ["LbdDown", "LbdDatapathDetached", "LbdVIPNoBackend", "LbdVIPDegraded", "LbdBackendDown",
                               "LbdDropsRising", "LbdLosingFlows", "LbdConnectionTableFilling", "LbdEvictingLiveFlows",
                               "LbdReconcileFailing", "LbdVIPServableNotAnnounced", "LbdVIPAnnouncedNotServable",
                               "LbdBirdOutOfSync"])
    }

    func testPromtoolRejectsBrokenCopiesOfTheRules() throws {
        // A PromQL syntax error, and an annotation template that does not parse.
        for (original, broken, finding) in [
            ("expr: lbd_backend_up == 0", "expr: lbd_backend_up == == 0", #""LbdBackendDown": could not parse expression"#),
            ("{{ $labels.backend }} of", "{{ $labels.backend of", #""LbdBackendDown": annotation "summary": template"#),
        ] {
            let copy = try brokenCopy(of: alerts, replacing: original, with: broken)
            let output = try Promtool.run(["check", "rules", copy])
            XCTAssertEqual(output.status, 1, "\(broken): \(output.stdout)\(output.stderr)")
            XCTAssertTrue(output.stderr.contains(finding), output.stderr)
        }
    }

    /// contrib/prometheus/alerts_test.yml says, series by series, when each alert fires and
    /// with which labels and annotations; promtool holds the rules to it.
    func testTheAlertsFireWhenTheirUnitTestsSay() throws {
        let output = try Promtool.run(["test", "rules", alertTests])
        XCTAssertEqual(output.status, 0, output.stdout + output.stderr)
        XCTAssertTrue(output.stdout.contains("SUCCESS"), output.stdout)

        // The same tests against a rule that waits longer than they expect: they catch it.
        let directory = try temporaryDirectory(self)
        try FileManager.default.copyItem(atPath: alertTests, toPath: directory + "/alerts_test.yml")
        let rules = try String(contentsOfFile: alerts, encoding: .utf8)
        let slower = rules.replacingOccurrences(of: "expr: lbd_backend_up == 0\n        for: 1m",
                                                with: "expr: lbd_backend_up == 0\n        for: 2m")
        XCTAssertNotEqual(slower, rules)
        try slower.write(toFile: directory + "/alerts.yml", atomically: true, encoding: .utf8)
        let failed = try Promtool.run(["test", "rules", directory + "/alerts_test.yml"])
        XCTAssertEqual(failed.status, 1, failed.stdout + failed.stderr)
        XCTAssertTrue((failed.stdout + failed.stderr).contains("alertname: LbdBackendDown"), failed.stdout + failed.stderr)
    }

    func testTheAlertRulesNameOnlyCataloguedMetrics() throws {
        let catalogue = try MetricCatalogue.load()
        let used = catalogue.metrics(in: try String(contentsOfFile: alerts, encoding: .utf8))
        XCTAssertEqual(used.subtracting(catalogue.names), [])
        XCTAssertTrue(used.isSuperset(of: ["lbd_backend_up", "lbd_vip_degraded", "lbd_vip_backends_up", "lbd_vip_backends",
                                           "lbd_datapath_attached", "lbd_datapath_drops_total", "lbd_datapath_packets_total",
                                           "lbd_reconcile_failures_total", "lbd_conntrack_entries",
                                           "lbd_conntrack_capacity"]), "\(used)")
    }

    // MARK: The dashboard

    func testTheDashboardIsJSONWhosePanelsAreTitledAndQuery() throws {
        let dashboard = try loadDashboard()
        XCTAssertEqual(dashboard["schemaVersion"] as? Int, 39)
        XCTAssertEqual(dashboard["uid"] as? String, "lbd-overview")
        let panels = allPanels(dashboard)
        XCTAssertGreaterThanOrEqual(panels.count, 20)
        for panel in panels {
            let title = panel["title"] as? String ?? ""
            XCTAssertFalse(title.isEmpty, "panel \(panel["id"] ?? "?") has no title")
            // Rows only group the panels under them.
            if panel["type"] as? String == "row" { continue }
            let expressions = targets(of: panel).map { $0["expr"] as? String ?? "" }
            XCTAssertFalse(expressions.isEmpty, "\(title) has no target")
            XCTAssertFalse(expressions.contains(""), "\(title) has a target without expr")
        }
    }

    func testEveryQueryGoesToTheDashboardsPrometheusInput() throws {
        let dashboard = try loadDashboard()
        let inputs = try XCTUnwrap(dashboard["__inputs"] as? [[String: Any]])
        XCTAssertEqual(inputs.map { $0["name"] as? String }, ["DS_PROMETHEUS"])
        XCTAssertEqual(inputs.first?["pluginId"] as? String, "prometheus")
        let variables = templateVariables(dashboard)
        // Also a variable of that name, so that a provisioned copy (no import) resolves it.
        XCTAssertEqual(variables["DS_PROMETHEUS"]?["type"] as? String, "datasource")
        XCTAssertEqual(variables["DS_PROMETHEUS"]?["query"] as? String, "prometheus")
        let source = ["type": "prometheus", "uid": "${DS_PROMETHEUS}"]
        for panel in allPanels(dashboard) where panel["type"] as? String != "row" {
            XCTAssertEqual(panel["datasource"] as? [String: String], source, "\(panel["title"] ?? "?")")
            for target in targets(of: panel) {
                XCTAssertEqual(target["datasource"] as? [String: String], source, "\(panel["title"] ?? "?")")
            }
        }
        for name in ["instance", "vip"] {
            XCTAssertEqual(variables[name]?["datasource"] as? [String: String], source, name)
        }
        let vip = try XCTUnwrap(variables["vip"]?["query"] as? [String: Any])["query"] as? String
        XCTAssertEqual(vip, #"label_values(lbd_vip_packets_total{instance=~"$instance"}, vip)"#)
    }

    func testTheDashboardNamesOnlyCataloguedMetrics() throws {
        let catalogue = try MetricCatalogue.load()
        let used = catalogue.metrics(in: try dashboardQueries(loadDashboard()).joined(separator: "\n"))
        XCTAssertEqual(used.subtracting(catalogue.names), [])
        // What the dashboard is for: traffic, health, datapath and control plane.
        let required: Set = [
            "lbd_vip_packets_total", "lbd_vip_bytes_total", "lbd_backend_packets_total", "lbd_backend_bytes_total",
            "lbd_vip_backends_up", "lbd_vip_min_up", "lbd_backend_up", "lbd_health_transitions_total",
            "lbd_health_check_duration_seconds", "lbd_datapath_drops_total", "lbd_xdp_actions_total",
            "lbd_conntrack_lookups_total", "lbd_conntrack_new_flows_total", "lbd_datapath_attached",
            "lbd_reconciles_total", "lbd_map_writes_total", "lbd_api_edits_total", "lbd_config_reloads_total",
            "lbd_conntrack_entries", "lbd_conntrack_capacity", "lbd_vip_syns_total", "lbd_vip_new_flows_total",
            "lbd_vip_conn_misses_total",
        ]
        XCTAssertEqual(required.subtracting(used), [])
    }

    /// Grafana's variables replaced by values of their kind, every expression must parse as
    /// PromQL: promtool checks them as recording rules.
    func testEveryDashboardExpressionIsPromQL() throws {
        let expressions = allPanels(try loadDashboard()).flatMap(targets(of:)).compactMap { $0["expr"] as? String }
        let output = try checkAsRules(expressions)
        XCTAssertEqual(output.status, 0, output.stdout + output.stderr)
        XCTAssertTrue(output.stdout.contains("SUCCESS: \(expressions.count) rules found"), output.stdout)
        // The check is not blind: an unclosed call fails it.
        XCTAssertEqual(try checkAsRules(["sum(rate(lbd_reconciles_total[$__rate_interval])"]).status, 1)
    }

    func testThePanelsFitTheGridWithoutOverlapping() throws {
        let boxes = allPanels(try loadDashboard()).map { panel in
            (title: panel["title"] as? String ?? "?", grid: panel["gridPos"] as? [String: Int] ?? [:])
        }
        for (index, box) in boxes.enumerated() {
            let (x, y, w, h) = (box.grid["x"] ?? -1, box.grid["y"] ?? -1, box.grid["w"] ?? 0, box.grid["h"] ?? 0)
            XCTAssertTrue(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 24, "\(box.title): \(box.grid)")
            for other in boxes[..<index] {
                let (ox, oy, ow, oh) = (other.grid["x"] ?? 0, other.grid["y"] ?? 0, other.grid["w"] ?? 0, other.grid["h"] ?? 0)
                let overlaps = x < ox + ow && ox < x + w && y < oy + oh && oy < y + h
                XCTAssertFalse(overlaps, "\(box.title) overlaps \(other.title)")
            }
        }
    }

    // MARK: promtoolCheckMetrics

    func testPromtoolCheckMetricsAcceptsAWellFormedScrape() throws {
        try promtoolCheckMetrics("""
            # HELP lbd_reconciles_total Reconcile passes.
            # TYPE lbd_reconciles_total counter
            lbd_reconciles_total 12
            # HELP lbd_vip_backends_up Backends taking new flows.
            # TYPE lbd_vip_backends_up gauge
            lbd_vip_backends_up{vip="10.0.0.10:80/tcp"} 3
            lbd_vip_backends_up{vip="[2001:db8::10]:443/tcp"} 0
            # HELP lbd_health_check_duration_seconds Latency of every check.
            # TYPE lbd_health_check_duration_seconds histogram
            lbd_health_check_duration_seconds_bucket{type="tcp",le="0.005"} 4
            lbd_health_check_duration_seconds_bucket{type="tcp",le="+Inf"} 5
            lbd_health_check_duration_seconds_sum{type="tcp"} 0.031
            lbd_health_check_duration_seconds_count{type="tcp"} 5

            """)
    }

    func testPromtoolCheckMetricsFailsWithPromtoolsFindings() throws {
        let unsuffixed = """
            # HELP lbd_reconciles Reconcile passes.
            # TYPE lbd_reconciles counter
            lbd_reconciles 12

            """
        XCTAssertThrowsError(try promtoolCheckMetrics(unsuffixed)) { error in
            XCTAssertTrue("\(error)".contains(#"lbd_reconciles counter metrics should have "_total" suffix"#), "\(error)")
        }
        XCTAssertThrowsError(try promtoolCheckMetrics("lbd_reconciles_total{vip=} 1\n")) { error in
            XCTAssertTrue("\(error)".contains("text format parsing error"), "\(error)")
        }
    }

    // MARK: Helpers

    private func loadDashboard() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: dashboardPath))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any], "not a JSON object")
    }

    /// Every panel, those inside collapsed rows included.
    private func allPanels(_ dashboard: [String: Any]) -> [[String: Any]] {
        let top = dashboard["panels"] as? [[String: Any]] ?? []
        return top.flatMap { [$0] + ($0["panels"] as? [[String: Any]] ?? []) }
    }

    private func targets(of panel: [String: Any]) -> [[String: Any]] {
        panel["targets"] as? [[String: Any]] ?? []
    }

    private func templateVariables(_ dashboard: [String: Any]) -> [String: [String: Any]] {
        let list = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        return Dictionary(list.map { ($0["name"] as? String ?? "", $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The panels' expressions and the query variables' queries.
    private func dashboardQueries(_ dashboard: [String: Any]) -> [String] {
        let panels = allPanels(dashboard).flatMap(targets(of:)).compactMap { $0["expr"] as? String }
        let variables = templateVariables(dashboard).values.compactMap { ($0["query"] as? [String: Any])?["query"] as? String }
        return panels + variables
    }

    /// `promtool check rules` on `expressions` as recording rules, with Grafana's range
    /// variable as a duration and every other variable as a regex.
    private func checkAsRules(_ expressions: [String]) throws -> ProcessOutput {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        var file = "groups:\n  - name: dashboard\n    rules:\n"
        for (index, expression) in expressions.enumerated() {
            let promql = expression.replacingOccurrences(of: "$__rate_interval", with: "5m")
                .replacing(/\$[A-Za-z_]+/, with: ".+")
            // A JSON string is a double-quoted YAML scalar.
            let quoted = String(decoding: try encoder.encode(promql), as: UTF8.self)
            file += "      - record: dashboard_expression_\(index)\n        expr: \(quoted)\n"
        }
        let path = try temporaryDirectory(self) + "/dashboard-rules.yml"
        try file.write(toFile: path, atomically: true, encoding: .utf8)
        return try Promtool.run(["check", "rules", path])
    }

    private func brokenCopy(of path: String, replacing original: String, with broken: String) throws -> String {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.contains(original), original)
        let copy = try temporaryDirectory(self) + "/" + (path as NSString).lastPathComponent
        try text.replacingOccurrences(of: original, with: broken).write(toFile: copy, atomically: true, encoding: .utf8)
        return copy
    }
}
