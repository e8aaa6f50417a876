import Foundation
import Maglev

/// Counters since the reconciler started, for the metrics endpoint.
public struct ReconcilerStats: Equatable, Sendable {
    /// Reconcile passes run, failed ones included.
    public var reconciles = 0
    /// Passes stopped by a datapath error (retried by the next pass).
    public var failures = 0
    /// `DatapathWriter` calls that succeeded.
    public var mapWrites = 0
    /// Ring slots written: the slots of each diff, or the ring size for a whole ring.
    public var ringSlotsWritten = 0
    /// The latest ring flip.
    public var lastRingChange: RingChange?
}

/// One ring flip: how many slots now name another backend than the ring they replace,
/// i.e. the share of new flows that go elsewhere (Maglev keeps it near the share of
/// the backends that came or went).
public struct RingChange: Equatable, Sendable {
    public let vip: VIPKey
    /// Every slot when the previous ring was unknown or the VIP had no backend up.
    public let changedSlots: Int
    public let ringSize: Int

    /// `changedSlots / ringSize`, 0...1.
    public var changedFraction: Double { Double(changedSlots) / Double(ringSize) }
}

/// The writes of one reconcile pass, for the log and the API's answer.
public struct ReconcileSummary: Equatable, Sendable {
    public var backendsSet = 0
    public var backendsCleared = 0
    public var ringsWritten = 0
    public var vipsInstalled = 0
    public var vipsRemoved = 0
    /// QUIC VIPs whose server ids were written.
    public var quicServersWritten = 0

    /// The number of `DatapathWriter` calls made.
    public var writes: Int {
        backendsSet + backendsCleared + ringsWritten + vipsInstalled + vipsRemoved + quicServersWritten
    }
}

/// What the reconciler has installed: index assignments (the metrics endpoint labels the
/// per-index counters of `vip_stats` and `backend_stats` with them) and health.
public struct ReconcilerSnapshot: Equatable, Sendable {
    public struct VIP: Equatable, Sendable {
        public let key: VIPKey
        public let index: UInt32
        public let info: VIPInfo
        /// The backends the live ring was built from (up, weight > 0, not drained), in
        /// address order; empty when none is (the VIP drops new flows).
        public let activeBackends: [IPAddress]
        /// Of `activeBackends`, those that pass their checks (all of them but in a panic).
        public let backendsUp: Int
        /// Fewer than the panic threshold pass their checks: the ring holds every
        /// eligible backend, up or down.
        public let panic: Bool
    }

    public struct Backend: Equatable, Sendable {
        public let address: IPAddress
        public let index: UInt32
        /// As last written to the `backends` map; nil when a write failed.
        public let up: Bool?
    }

    /// In VIP order.
    public let vips: [VIP]
    /// In address order.
    public let backends: [Backend]
}

/// What a reconciler published at the end of its last pass (`Reconciler.published`).
public struct ReconcilerView: Sendable {
    public let snapshot: ReconcilerSnapshot
    /// As `Reconciler.unhealthyBackends()`.
    public let unhealthy: Set<BackendRef>
    public let stats: ReconcilerStats
}

/// The latest `ReconcilerView`, behind a lock: read from any thread at any time.
public final class ReconcilerPublication: @unchecked Sendable {
    private let lock = NSLock()
    private var current = ReconcilerView(snapshot: ReconcilerSnapshot(vips: [], backends: []), unhealthy: [],
                                         stats: ReconcilerStats())

    public var view: ReconcilerView { lock.withLock { current } }

    func publish(_ view: ReconcilerView) {
        lock.withLock { current = view }
    }
}

/// Why a reconcile pass stopped or an adoption was refused. A pass stops at its first
/// failed write and leaves the rest for the next pass; what it wrote before stays
/// consistent (the ordering rules hold at every step).
public enum ReconcileError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// The datapath refused a write: what was being written, and the datapath's error.
    case write(String, String)
    case noFreeVIPIndex(VIPKey)
    case noFreeBackendIndex(IPAddress)
    /// The Maglev table could not be built (validation prevents this for valid states).
    case table(VIPKey, MaglevError)
    /// The maps' content cannot be taken over: the reason.
    case adoption(String)

    public var description: String {
        switch self {
        case .write(let what, let error): "datapath write failed: \(what): \(error)"
        case .noFreeVIPIndex(let vip): "no free VIP index for \(vip)"
        case .noFreeBackendIndex(let address): "no free backend index for \(address)"
        case .table(let vip, let error): "VIP \(vip): \(error)"
        case .adoption(let reason): "cannot adopt the installed datapath state: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
