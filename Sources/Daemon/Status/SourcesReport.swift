import Balancer
import CLBABI
import Datapath
import Foundation
import LBDAPI

/// The datapath's source entries at one instant, `now` on the program's clock
/// (bpf_ktime_get_coarse_ns).
public struct SourceSample: Sendable {
    public var entries: [SourceFlows]
    public var now: UInt64

    public init(entries: [SourceFlows], now: UInt64) {
        self.entries = entries
        self.now = now
    }
}

/// What `GET /v1/sources` is asked: `vip`, `prefix_v4`, `prefix_v6`, `seconds`, `limit`.
public struct SourcesQuery: Equatable, Sendable {
    /// nil: every VIP.
    public var vip: VIPKey?
    /// Group the tracked prefixes into shorter ones (a longer one shows the tracked prefix).
    public var prefixV4: Int?
    public var prefixV6: Int?
    /// 0: rank by the flows counted since each prefix was first tracked, counted only
    /// while counting was on (earlier windows, or always under a per-source limit);
    /// 1...10: by the flows opened while lbd counts that long between two reads.
    public var seconds = 0
    public var limit = 20

    public static let secondsRange = 0...10
    public static let limitRange = 1...1000

    public init(vip: VIPKey? = nil, prefixV4: Int? = nil, prefixV6: Int? = nil, seconds: Int = 0, limit: Int = 20) {
        self.vip = vip
        self.prefixV4 = prefixV4
        self.prefixV6 = prefixV6
        self.seconds = seconds
        self.limit = limit
    }

    static func parse(_ query: [String: String]) throws(APIError) -> SourcesQuery {
        try SourcesQuery(vip: QueryParameter.vip(query),
                         prefixV4: QueryParameter.integer(query, "prefix_v4", FloodSettings.sourcePrefixV4Range),
                         prefixV6: QueryParameter.integer(query, "prefix_v6", FloodSettings.sourcePrefixV6Range),
                         seconds: QueryParameter.integer(query, "seconds", secondsRange) ?? 0,
                         limit: QueryParameter.integer(query, "limit", limitRange) ?? 20)
    }
}

extension SourcesResponse {
    /// The report of `after` (and of the flows since `before`, when the query has
    /// seconds) for the installed `vips`: entries of other VIPs or of an index's earlier
    /// owner are left out; prefixes are grouped per the query, ranked, cut to its limit.
    static func make(_ query: SourcesQuery, before: SourceSample?, after: SourceSample,
                     vips: [ReconcilerSnapshot.VIP]) -> SourcesResponse {
        let owners = Dictionary(uniqueKeysWithValues: vips.map { ($0.index, $0) })
        let earlier = Dictionary(before?.entries.map { (bytes(of: $0.key), $0.flows) } ?? [], uniquingKeysWith: { a, _ in a })
        var grouped: [GroupKey: Source] = [:]
        for entry in after.entries {
            guard let vip = owners[entry.key.vip], UInt16(truncatingIfNeeded: vip.info.generation) == entry.key.vip_generation,
                  query.vip == nil || query.vip == vip.key, let prefix = prefix(of: entry.key, query) else { continue }
            let flows = entry.flows
            // An entry evicted and created again meanwhile counts from zero.
            var interval = flows.new_flows
            if let previous = earlier[bytes(of: entry.key)], previous.first_seen_ns == flows.first_seen_ns {
                interval = flows.new_flows &- previous.new_flows
            }
            let age = Double(after.now &- min(flows.last_seen_ns, after.now)) / 1e9
            let key = GroupKey(vip: vip.key, prefix: prefix)
            var source = grouped[key] ?? Source(vip: vip.key.description, prefix: prefix.description, newFlows: 0, refused: 0,
                                                intervalNewFlows: before == nil ? nil : 0, lastSeenAgeSeconds: age)
            source.newFlows += flows.new_flows
            source.refused += flows.refused
            source.intervalNewFlows = source.intervalNewFlows.map { $0 + interval }
            source.lastSeenAgeSeconds = min(source.lastSeenAgeSeconds, age)
            grouped[key] = source
        }
        let ranked = grouped.sorted { a, b in
            let (x, y) = (a.value, b.value)
            if x.intervalNewFlows != y.intervalNewFlows { return (x.intervalNewFlows ?? 0) > (y.intervalNewFlows ?? 0) }
            if x.newFlows != y.newFlows { return x.newFlows > y.newFlows }
            return (a.key.vip, a.key.prefix.address, a.key.prefix.length) < (b.key.vip, b.key.prefix.address, b.key.prefix.length)
        }.map(\.value).filter { $0.intervalNewFlows != 0 }
        return SourcesResponse(seconds: query.seconds, tracked: after.entries.count, capacity: Int(LB_SOURCE_ENTRIES),
                             sources: Array(ranked.prefix(query.limit)))
    }

    private struct GroupKey: Hashable {
        var vip: VIPKey
        var prefix: IPPrefix
    }

    /// The entry's prefix, shortened to the query's length for its family.
    private static func prefix(of key: lb_source_key, _ query: SourcesQuery) -> IPPrefix? {
        guard let address = ABIConversion.address(key.prefix, family: key.family) else { return nil }
        let wanted = address.family == .v4 ? query.prefixV4 : query.prefixV6
        return IPPrefix(covering: address, length: min(wanted ?? Int(key.prefix_len), Int(key.prefix_len)))
    }

    private static func bytes(of key: lb_source_key) -> [UInt8] {
        withUnsafeBytes(of: key) { Array($0) }
    }
}

extension StatusReporter {
    /// The sources report for `query`: one read of the datapath, or two `seconds` apart
    /// with counting on between them.
    public func sources(_ query: SourcesQuery) async throws -> SourcesResponse {
        // What the last pass published: a pass in progress (a large apply) is not waited for.
        let snapshot = reconciler.published.view.snapshot
        if let vip = query.vip { _ = try snapshot.installed(vip) }
        let vips = snapshot.vips
        guard query.seconds > 0 else {
            return SourcesResponse.make(query, before: nil, after: try readings.sources(), vips: vips)
        }
        try sourceCounting?.openWindow()
        let samples: (before: SourceSample, after: SourceSample)
        do {
            samples = try await window(seconds: query.seconds)
        } catch {
            try? sourceCounting?.closeWindow()
            throw error
        }
        try sourceCounting?.closeWindow()
        return SourcesResponse.make(query, before: samples.before, after: samples.after, vips: vips)
    }

    private func window(seconds: Int) async throws -> (before: SourceSample, after: SourceSample) {
        let before = try readings.sources()
        try await Task.sleep(for: .seconds(seconds))
        return (before, try readings.sources())
    }
}
