import Balancer
import CLBABI
import Datapath
import Foundation
import Glibc
import Logging

/// What `POST /v1/capture` is asked: `vip`, `count`, `seconds`, `verdict` (comma
/// separated), `sample`, `snaplen`; each bounded here, whatever the client sends.
public struct CaptureRequest: Equatable, Sendable {
    public static let verdictNames: [(String, UInt32)] = [
        ("tx", UInt32(LB_CAPTURE_V_TX)), ("pass", UInt32(LB_CAPTURE_V_PASS)), ("drop", UInt32(LB_CAPTURE_V_DROP)),
        ("miss", UInt32(LB_CAPTURE_V_MISS)), ("icmp", UInt32(LB_CAPTURE_V_ICMP)),
    ]
    public static let countRange = 1...10_000
    public static let secondsRange = 1...60
    public static let sampleRange = 1...1_000_000
    public static let snaplenRange = 64...Int(LB_CAPTURE_SNAPLEN_MAX)

    /// nil: every VIP.
    public var vip: VIPKey?
    /// Packets (a transmitted one is two frames: as received and as sent).
    public var count = 100
    public var seconds = 10
    /// LB_CAPTURE_V_*; every verdict by default.
    public var verdicts = verdictNames.reduce(0) { $0 | $1.1 }
    public var sample = 1
    public var snaplen = 256

    static func parse(_ query: [String: String]) throws(APIError) -> CaptureRequest {
        var request = CaptureRequest()
        request.vip = try QueryParameter.vip(query)
        request.count = try QueryParameter.integer(query, "count", countRange) ?? request.count
        request.seconds = try QueryParameter.integer(query, "seconds", secondsRange) ?? request.seconds
        request.sample = try QueryParameter.integer(query, "sample", sampleRange) ?? request.sample
        request.snaplen = try QueryParameter.integer(query, "snaplen", snaplenRange) ?? request.snaplen
        if let text = query["verdict"] {
            var verdicts: UInt32 = 0
            for name in text.split(separator: ",", omittingEmptySubsequences: false) {
                guard let bit = verdictNames.first(where: { $0.0 == name })?.1 else {
                    throw .badRequest("unknown verdict '\(name)': expected tx, pass, drop, miss or icmp")
                }
                verdicts |= bit
            }
            request.verdicts = verdicts
        }
        return request
    }
}

/// Captures on demand, one at a time: turns capture_config on for the request's VIP and
/// verdicts, reads capture_ring until `count` packets or `seconds`, turns it off (always,
/// failure or not) and answers with a pcap file.
///
/// capture_config is written here, not by the reconciler: it is no part of the desired
/// state the reconciler derives the maps from (nothing persists, nothing is diffed), it
/// must go off when its request ends whatever the reconciler is doing, and a stopped lbd
/// must not leave it on: `LBDaemon` turns it off at start (`stopAny`). This actor is its
/// only writer.
public actor PacketCapture {
    let datapath: BalancerDatapath
    let reconciler: Reconciler
    let logger: Logger
    private var running = false

    public init(datapath: BalancerDatapath, reconciler: Reconciler, logger: Logger = Logger(label: "lbd.capture")) {
        self.datapath = datapath
        self.reconciler = reconciler
        self.logger = logger
    }

    /// Turns off a capture a previous lbd left running.
    public nonisolated func stopAny() throws {
        try datapath.captureConfig.update(key: 0, value: lb_capture_config())
    }

    func capture(_ request: CaptureRequest) async throws -> APIResponse {
        guard !running else { throw APIError.conflict("a capture is already running; one at a time") }
        running = true
        defer { running = false }
        let vipIndex = try index(of: request.vip)
        let ring = try datapath.openCaptureRing()
        _ = try ring.consume()  // a previous capture's leftovers
        try datapath.captureStats.update(key: 0, value: lb_capture_stats())
        logger.notice("capture started", metadata: [
            "vip": "\(request.vip.map(\.description) ?? "any")", "count": "\(request.count)",
            "seconds": "\(request.seconds)", "sample": "\(request.sample)", "snaplen": "\(request.snaplen)",
        ])
        var frames: [CapturedFrame] = []
        do {
            try datapath.captureConfig.update(key: 0, value: lb_capture_config(
                enabled: 1, vip: vipIndex, verdicts: request.verdicts, sample: UInt32(request.sample),
                snaplen: UInt32(request.snaplen)))
            let deadline = ContinuousClock.now + .seconds(request.seconds)
            while frames.count(where: { !$0.sent }) < request.count, ContinuousClock.now < deadline {
                frames += try ring.consume()
                try await Task.sleep(for: .milliseconds(20))
            }
        } catch {
            try? stopAny()
            throw error
        }
        try stopAny()
        frames += try ring.consume()
        let packets = Self.firstPackets(frames, count: request.count)
        let counters = try datapath.captureCounters()
        logger.notice("capture ended", metadata: [
            "packets": "\(packets.count(where: { !$0.sent }))", "frames": "\(packets.count)",
            "matched": "\(counters.matched)", "lost": "\(counters.lost)",
        ])
        let pcap = PcapFile.bytes(packets, snaplen: request.snaplen, realtimeOffset: Self.realtimeOffset())
        return APIResponse(status: .ok, contentType: "application/vnd.tcpdump.pcap", body: Data(pcap))
    }

    /// The VIP's index, LB_CAPTURE_ANY_VIP for nil; 404 when it is not installed.
    private func index(of vip: VIPKey?) throws(APIError) -> UInt32 {
        guard let vip else { return LB_CAPTURE_ANY_VIP }
        // What the last pass published: a pass in progress (a large apply) is not waited for.
        return try reconciler.published.view.snapshot.installed(vip).index
    }

    /// The frames of the first `count` packets: each received frame, and the sent one that
    /// follows it from the same CPU when there is one.
    static func firstPackets(_ frames: [CapturedFrame], count: Int) -> [CapturedFrame] {
        var kept: [CapturedFrame] = []
        var packets = 0
        for frame in frames {
            if !frame.sent {
                guard packets < count else { break }
                packets += 1
            }
            kept.append(frame)
        }
        return kept
    }

    /// CLOCK_REALTIME − CLOCK_MONOTONIC now, in nanoseconds.
    static func realtimeOffset() -> Int64 {
        var real = timespec(), mono = timespec()
        clock_gettime(CLOCK_REALTIME, &real)
        clock_gettime(CLOCK_MONOTONIC, &mono)
        return (Int64(real.tv_sec) - Int64(mono.tv_sec)) * 1_000_000_000 + Int64(real.tv_nsec) - Int64(mono.tv_nsec)
    }
}
