import Announce
import Balancer
import BuildInfo
import CLBABI
import Foundation
import HealthCheck
import Prometheus

/// `GET /metrics`: what lbd knows, in the Prometheus text format (docs/metrics.md).
///
/// The state-derived series (datapath counters read from the per-CPU maps, health, the
/// reconciler's counts) are read at each scrape and set on `ScrapeSeries`' registry,
/// which drops the series of a VIP or backend that went away; the event counters of
/// `ControlPlaneMetrics` live on their own registry. Both are emitted.
public struct MetricsCollector: Sendable {
    let events: ControlPlaneMetrics
    let coordinator: EditCoordinator
    let reconciler: Reconciler
    let health: HealthSupervisor
    let readings: any DatapathReadings
    let announcer: Announcer?
    private let series = ScrapeSeries(help: MetricsCollector.help)

    public init(events: ControlPlaneMetrics, coordinator: EditCoordinator, reconciler: Reconciler,
                health: HealthSupervisor, readings: any DatapathReadings, announcer: Announcer? = nil) {
        self.events = events
        self.coordinator = coordinator
        self.reconciler = reconciler
        self.health = health
        self.readings = readings
        self.announcer = announcer
    }

    public func scrape() async throws -> [UInt8] {
        var samples = ScrapeSamples()
        try datapath(into: &samples)
        let state = await coordinator.state
        // What the last pass published: a pass in progress (a large apply) is not waited for.
        let view = reconciler.published.view
        try traffic(view.snapshot, into: &samples)
        try activeFlows(state, view.snapshot, into: &samples)
        await health(state, view, into: &samples)
        controlPlane(view.stats, into: &samples)
        if let announcer { announcements(await announcer.report(), into: &samples) }
        var buffer = series.update(samples)
        events.registry.emit(into: &buffer)
        return buffer
    }

    /// `# HELP` of each scrape-time metric (docs/metrics.md says more).
    static let help: [String: String] = [
        "lbd_datapath_attached": "1 while lbd's XDP program is attached to the interface in this mode.",
        "lbd_datapath_packets_total": "Packets the XDP program saw.",
        "lbd_xdp_actions_total": "XDP verdicts by action.",
        "lbd_conntrack_lookups_total": "Connection-table lookups of packets to VIPs by result (miss_tcp: state lost).",
        "lbd_conntrack_rescheduled_total": "Connection-table entries whose backend was down or retired, re-picked from the ring.",
        "lbd_conntrack_new_flows_total": "Connection-table entries created.",
        "lbd_conntrack_evictions_total": "Entries created in the way of a live established flow, its bucket full: that flow lost its entry.",
        "lbd_conntrack_syn_bucket_full_total": "SYNs sent by the ring without an entry, their bucket holding only live established flows.",
        "lbd_conntrack_flood_limited_total": "New flows over flood.new_flows_per_cpu, sent by the ring without an entry.",
        "lbd_conntrack_entries": "Connection-table entries in use, counted by a scan at most every 10 s.",
        "lbd_conntrack_capacity": "Connection-table size (max_entries), one table for all CPUs.",
        "lbd_datapath_drops_total": "Packets to VIPs dropped, by reason.",
        "lbd_datapath_parse_errors_total": "Truncated or malformed packets, passed to the kernel.",
        "lbd_icmp_total": "ICMP for VIPs handled, by kind.",
        "lbd_icmp_too_big_sent_total": "Fragmentation-needed / packet-too-big messages generated for clients.",
        "lbd_quic_short_headers_total": "QUIC short headers to quic VIPs missing the connection table, by how they were routed.",
        "lbd_vip_packets_total": "Packets sent to the VIP's backends.",
        "lbd_vip_bytes_total": "Bytes sent to the VIP's backends.",
        "lbd_vip_syns_total": "TCP SYNs to the VIP.",
        "lbd_vip_new_flows_total": "Connection-table entries created for the VIP.",
        "lbd_vip_conn_misses_total": "Packets to the VIP other than SYNs without a live entry (TCP: state lost; UDP: a new flow).",
        "lbd_backend_packets_total": "Packets sent to the backend over every VIP.",
        "lbd_backend_bytes_total": "Bytes sent to the backend over every VIP.",
        "lbd_backend_active_flows": "The VIP's flows on the backend that have not ended: connection entries whose "
            + "client sent no FIN or RST and that are within their idle timeout.",
        "lbd_backend_up": "1 when the backend passes its checks for the VIP (or has none), 0 when down.",
        "lbd_backend_health_last_change_timestamp_seconds": "When the backend's check state last changed.",
        "lbd_health_transitions_total": "Health check state changes by direction and reason.",
        "lbd_vip_backends": "Backends configured for the VIP.",
        "lbd_vip_backends_up": "Backends taking new flows and passing their checks: weight above 0, not drained, healthy.",
        "lbd_vip_min_up": "The VIP's quorum (min_up).",
        "lbd_vip_degraded": "1 when fewer than min_up backends take new flows.",
        "lbd_vip_panic": "1 while fewer than panic_threshold percent of the backends pass their checks: "
            + "new flows go to every backend, up or down.",
        "lbd_vip_panic_threshold": "The VIP's panic_threshold, in percent (0: never).",
        "lbd_reconciles_total": "Reconcile passes.",
        "lbd_reconcile_failures_total": "Reconcile passes stopped by a failed map write (retried).",
        "lbd_map_writes_total": "BPF map writes by the reconciler.",
        "lbd_ring_slots_written_total": "Maglev ring slots written.",
        "lbd_ring_last_change_ratio": "Fraction of a ring's slots the last rebuild changed.",
        "lbd_build_info": "lbd's version, git commit and the kernel it runs on.",
        "lbd_vip_announced": "1 while this node has BIRD announce the VIP address.",
        "lbd_vip_servable": "1 while one of the address's services has min_up backends up.",
        "lbd_vip_announcement_changes_total": "Announcements and withdrawals of the VIP address since lbd started.",
        "lbd_node_drained": "1 while the node moves or keeps traffic away (lbctl node drain, or stopping).",
        "lbd_bird_synced": "1 when BIRD took the routes lbd decided; 0 while it is unreachable or refuses them.",
    ]

    /// Only with `announce:`: without it, lbd announces nothing and these series do not exist.
    private func announcements(_ report: AnnouncementReport, into samples: inout ScrapeSamples) {
        for (address, route) in report.routes {
            let labels = [("vip", address.description)]
            samples.gauge("lbd_vip_announced", labels, route.announced ? 1 : 0)
            samples.gauge("lbd_vip_servable", labels, route.servable ? 1 : 0)
            samples.counter("lbd_vip_announcement_changes_total", labels, UInt64(route.changes))
        }
        samples.gauge("lbd_node_drained", [], report.node == "active" ? 0 : 1)
        samples.gauge("lbd_bird_synced", [], report.birdError == nil ? 1 : 0)
    }

    private func datapath(into samples: inout ScrapeSamples) throws {
        let attached = readings.attachment().mode
        for mode in ["native", "generic"] {
            samples.gauge("lbd_datapath_attached", [("mode", mode)], attached == mode ? 1 : 0)
        }
        let counters = try readings.globalCounters()
        func stat(_ stat: lb_stat) -> UInt64 { counters[Int(stat.rawValue)] }
        samples.counter("lbd_datapath_packets_total", [], stat(LB_STAT_RX))
        for (action, value) in [("pass", LB_STAT_XDP_PASS), ("tx", LB_STAT_XDP_TX), ("drop", LB_STAT_XDP_DROP)] {
            samples.counter("lbd_xdp_actions_total", [("action", action)], stat(value))
        }
        samples.counter("lbd_conntrack_lookups_total", [("result", "hit")], stat(LB_STAT_CONN_HIT))
        samples.counter("lbd_conntrack_lookups_total", [("result", "miss_udp")], stat(LB_STAT_CONN_MISS_UDP))
        samples.counter("lbd_conntrack_lookups_total", [("result", "miss_tcp")], stat(LB_STAT_CONN_MISS_TCP))
        samples.counter("lbd_conntrack_rescheduled_total", [], stat(LB_STAT_CONN_RESCHEDULED))
        samples.counter("lbd_conntrack_new_flows_total", [], stat(LB_STAT_NEW_FLOW))
        samples.counter("lbd_conntrack_evictions_total", [], stat(LB_STAT_EVICTED))
        samples.counter("lbd_conntrack_syn_bucket_full_total", [], stat(LB_STAT_SYN_BUCKET_FULL))
        for (packet, value) in [("syn", LB_STAT_FLOOD_SYN), ("other", LB_STAT_FLOOD_OTHER)] {
            samples.counter("lbd_conntrack_flood_limited_total", [("packet", packet)], stat(value))
        }
        let table = try readings.connectionTable()
        samples.gauge("lbd_conntrack_entries", [], Double(table.entries))
        samples.gauge("lbd_conntrack_capacity", [], Double(table.capacity))
        for (reason, value) in [("no_backend", LB_STAT_NO_BACKEND), ("fragment", LB_STAT_FRAGMENT),
                                ("ip_options", LB_STAT_IP_OPTIONS), ("encap_error", LB_STAT_ENCAP_ERROR)] {
            samples.counter("lbd_datapath_drops_total", [("reason", reason)], stat(value))
        }
        samples.counter("lbd_datapath_drops_total", [("reason", "source_limit")], try readings.sourceRefusals())
        samples.counter("lbd_datapath_parse_errors_total", [], stat(LB_STAT_PARSE_ERROR))
        for (kind, value) in [("echo_answered", LB_STAT_ICMP_ECHO), ("error_forwarded", LB_STAT_ICMP_FORWARDED),
                              ("error_unmatched", LB_STAT_ICMP_UNMATCHED)] {
            samples.counter("lbd_icmp_total", [("kind", kind)], stat(value))
        }
        samples.counter("lbd_icmp_too_big_sent_total", [], stat(LB_STAT_TOO_BIG_SENT))
        for (result, value) in [("routed", LB_STAT_QUIC_ROUTED), ("fallback", LB_STAT_QUIC_FALLBACK),
                                ("malformed", LB_STAT_QUIC_MALFORMED)] {
            samples.counter("lbd_quic_short_headers_total", [("result", result)], stat(value))
        }
    }

    private func traffic(_ snapshot: ReconcilerSnapshot, into samples: inout ScrapeSamples) throws {
        for vip in snapshot.vips {
            let traffic = try readings.vipTraffic(index: vip.index)
            samples.counter("lbd_vip_packets_total", [("vip", vip.key.description)], traffic.packets)
            samples.counter("lbd_vip_bytes_total", [("vip", vip.key.description)], traffic.bytes)
            let flows = try readings.vipFlows(index: vip.index)
            samples.counter("lbd_vip_syns_total", [("vip", vip.key.description)], flows.syns)
            samples.counter("lbd_vip_new_flows_total", [("vip", vip.key.description)], flows.newFlows)
            samples.counter("lbd_vip_conn_misses_total", [("vip", vip.key.description)], flows.misses)
        }
        for backend in snapshot.backends {
            let traffic = try readings.backendTraffic(index: backend.index)
            samples.counter("lbd_backend_packets_total", [("backend", backend.address.description)], traffic.packets)
            samples.counter("lbd_backend_bytes_total", [("backend", backend.address.description)], traffic.bytes)
        }
    }

    /// Per VIP and backend of the desired state, 0 for one without flows (or not installed).
    private func activeFlows(_ state: DesiredState, _ snapshot: ReconcilerSnapshot,
                             into samples: inout ScrapeSamples) throws {
        let flows = try readings.activeFlows()
        let vips = Dictionary(snapshot.vips.map { ($0.key, $0.index) }) { first, _ in first }
        let backends = Dictionary(snapshot.backends.map { ($0.address, $0.index) }) { first, _ in first }
        for service in state.sortedServices {
            for backend in service.backends {
                let tally = flows.tally(vipIndex: vips[service.vip], backendIndex: backends[backend.address])
                samples.gauge("lbd_backend_active_flows",
                              [("vip", service.vip.description), ("backend", backend.address.description)],
                              Double(tally.active))
            }
        }
    }

    private func health(_ state: DesiredState, _ view: ReconcilerView, into samples: inout ScrapeSamples) async {
        let unhealthy = view.unhealthy
        let checks = await health.report().services
        let active = Dictionary(view.snapshot.vips.map { ($0.key, $0) }) { first, _ in first }
        for service in state.sortedServices {
            let vip = service.vip.description
            for backend in service.backends {
                let labels = [("vip", vip), ("backend", backend.address.description)]
                let up = !unhealthy.contains(BackendRef(vip: service.vip, address: backend.address))
                samples.gauge("lbd_backend_up", labels, up ? 1 : 0)
                if let since = checks[service.vip]?.backends[backend.address]?.health.since {
                    samples.gauge("lbd_backend_health_last_change_timestamp_seconds", labels, since.timeIntervalSince1970)
                }
            }
            let installed = active[service.vip]
            let serving = installed.map { !$0.info.flags.contains(.noBackend) } ?? false
            let up = serving ? installed?.backendsUp ?? 0 : 0
            let minUp = service.healthCheck?.minUp ?? 1
            samples.gauge("lbd_vip_backends", [("vip", vip)], Double(service.backends.count))
            samples.gauge("lbd_vip_backends_up", [("vip", vip)], Double(up))
            samples.gauge("lbd_vip_min_up", [("vip", vip)], Double(minUp))
            samples.gauge("lbd_vip_degraded", [("vip", vip)], up < minUp ? 1 : 0)
            samples.gauge("lbd_vip_panic", [("vip", vip)], serving && installed?.panic == true ? 1 : 0)
            samples.gauge("lbd_vip_panic_threshold", [("vip", vip)],
                          Double(service.panicThreshold))
        }
        // Every combination that can happen, at zero too: up on a success, down on a failure.
        let transitions = await health.transitionCounts()
        let failures = ProbeFailure.Kind.countedAgainstBackends.map(\.rawValue)
        for (to, reasons) in [(HealthStatus.up, ["success"]), (.down, failures)] {
            for reason in reasons {
                let count = transitions[TransitionCounterKey(to: to, reason: reason)] ?? 0
                samples.counter("lbd_health_transitions_total", [("to", to.rawValue), ("reason", reason)], UInt64(count))
            }
        }
    }

    private func controlPlane(_ stats: ReconcilerStats, into samples: inout ScrapeSamples) {
        samples.counter("lbd_reconciles_total", [], UInt64(stats.reconciles))
        samples.counter("lbd_reconcile_failures_total", [], UInt64(stats.failures))
        samples.counter("lbd_map_writes_total", [], UInt64(stats.mapWrites))
        samples.counter("lbd_ring_slots_written_total", [], UInt64(stats.ringSlotsWritten))
        samples.gauge("lbd_ring_last_change_ratio", [], stats.lastRingChange?.changedFraction ?? 0)
        samples.gauge("lbd_build_info", [("version", BuildInfo.version), ("commit", BuildInfo.commit),
                                            ("kernel", Self.kernel)], 1)
    }

    private static let kernel: String = {
        var name = utsname()
        uname(&name)
        return withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }()
}
