import Balancer
import Foundation

/// A `DatapathWriter` over dictionaries shaped like the BPF maps, for tests of the
/// reconciler and of the daemon without a kernel. It logs every call, can be told to
/// fail, and checks what the packet path relies on, recording each breach in
/// `violations`:
///
/// - no ring is written while a VIP serves from it;
/// - when a VIP entry is written, every slot of its live ring names a backend that is up
///   (unless the VIP has no backend);
/// - no backend is cleared, marked down or given another address while a live ring names it;
/// - a VIP index passed to another VIP gets another generation, and so does a backend
///   index passed to another address.
///
/// The checks scan every live ring: keep rings small in tests.
// Sendable by hand: every stored property is immutable or only touched under `lock`.
public final class InMemoryDatapath: DatapathWriter, @unchecked Sendable {
    /// One writer call, as logged.
    public enum Operation: Equatable, Sendable, CustomStringConvertible {
        case setBackend(index: UInt32, address: IPAddress, up: Bool)
        case clearBackend(index: UInt32)
        case writeRing(vipIndex: UInt32, ring: UInt32, changedSlots: [Int]?)
        case installVIP(VIPKey, index: UInt32, info: VIPInfo)
        case removeVIP(VIPKey)
        case writeQUICServers(vipIndex: UInt32, servers: [UInt32: QUICServer])

        public var description: String {
            switch self {
            case .setBackend(let index, let address, let up): "setBackend \(index) \(address) \(up ? "up" : "down")"
            case .clearBackend(let index): "clearBackend \(index)"
            case .writeRing(let vip, let ring, let changed):
                "writeRing vip \(vip) ring \(ring) " + (changed.map { "\($0.count) slots" } ?? "all")
            case .installVIP(let vip, let index, let info):
                "installVIP \(vip) index \(index) ring \(info.liveRing) gen \(info.generation) flags \(info.flags.rawValue)"
            case .removeVIP(let vip): "removeVIP \(vip)"
            case .writeQUICServers(let vip, let servers):
                "writeQUICServers vip \(vip) " + servers.sorted { $0.key < $1.key }
                    .map { "\($0.key)->\($0.value.backendIndex)" }.joined(separator: ",")
            }
        }
    }

    /// The error of an injected failure.
    public struct InjectedFailure: Error, Equatable, CustomStringConvertible {
        public let operation: Operation
        public var description: String { "injected failure: \(operation)" }
    }

    /// A write the real maps would refuse (index out of range, wrong ring size); also
    /// recorded as a violation.
    public struct RejectedWrite: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    private struct Failure {
        let matches: @Sendable (Operation) -> Bool
        /// Apply the operation, then throw: a write the kernel took but reported failed.
        let afterApplying: Bool
    }

    private struct Maps {
        var vipMap: [VIPKey: UInt32] = [:]
        var vips: [UInt32: VIPInfo] = [:]
        var backends: [UInt32: (address: IPAddress, up: Bool)] = [:]
        /// Every backend index's generation, kept when the entry is cleared.
        var backendGenerations: [UInt32: UInt16] = [:]
        /// The last address set at each backend index, for the generation check.
        var backendOwners: [UInt32: IPAddress] = [:]
        var rings: [UInt32: [[UInt32]]] = [:]
        /// quic_servers: VIP index → server id → entry, with the VIP generation written.
        var quicServers: [UInt32: (generation: UInt32, servers: [UInt32: QUICServer])] = [:]
        /// The last VIP installed at each index, for the generation check.
        var owners: [UInt32: (key: VIPKey, generation: UInt32)] = [:]
        var log: [Operation] = []
        var violations: [String] = []
        var failures: [Failure] = []
    }

    private let limits: Limits
    private let lock = NSLock()
    private var maps = Maps()

    public init(limits: Limits) {
        self.limits = limits
    }

    // MARK: Inspection

    /// Every call so far, in order (failed ones included).
    public var log: [Operation] { locked { $0.log } }
    public var violations: [String] { locked { $0.violations } }

    public func clearLog() {
        locked { $0.log = [] }
    }

    /// The next call matching `predicate` throws `InjectedFailure`, without effect or,
    /// with `afterApplying`, after taking effect.
    public func failNext(afterApplying: Bool = false, where predicate: @escaping @Sendable (Operation) -> Bool) {
        locked { $0.failures.append(Failure(matches: predicate, afterApplying: afterApplying)) }
    }

    public func vipIndex(_ vip: VIPKey) -> UInt32? { locked { $0.vipMap[vip] } }
    public func vipInfo(index: UInt32) -> VIPInfo? { locked { $0.vips[index] } }
    public func backend(index: UInt32) -> (address: IPAddress, up: Bool)? { locked { $0.backends[index] } }
    public func backendGeneration(index: UInt32) -> UInt16? { locked { $0.backendGenerations[index] } }
    public func ring(vipIndex: UInt32, ring: UInt32) -> [UInt32] { locked { self.ring(in: $0, vipIndex, ring) } }
    /// The VIP index's server ids, while they carry its current generation.
    public func quicServers(vipIndex: UInt32) -> [UInt32: QUICServer] {
        locked { maps in
            guard let entry = maps.quicServers[vipIndex], entry.generation == maps.vips[vipIndex]?.generation else { return [:] }
            return entry.servers
        }
    }

    /// What the packet path would pick for a new flow of `vip` hashing to `slot`: the
    /// backend's address, or nil when the VIP is absent or has no backend.
    public func route(_ vip: VIPKey, slot: Int) -> IPAddress? {
        locked { maps in
            guard let index = maps.vipMap[vip], let info = maps.vips[index], !info.flags.contains(.noBackend) else {
                return nil
            }
            let backend = self.ring(in: maps, index, info.liveRing)[slot]
            return maps.backends[backend]?.address
        }
    }

    /// The maps as a restarting daemon would read them.
    public func installedState() -> InstalledState {
        locked { maps in
            let owned = Set(maps.vipMap.values)
            return InstalledState(
                vips: maps.vipMap.sorted { $0.value < $1.value }.compactMap { key, index in
                    maps.vips[index].map { info in
                        .init(key: key, index: index, info: info, liveSlots: self.ring(in: maps, index, info.liveRing),
                              standbySlots: self.ring(in: maps, index, 1 - info.liveRing))
                    }
                },
                backends: maps.backends.sorted { $0.key < $1.key }.map {
                    .init(index: $0.key, address: $0.value.address, up: $0.value.up,
                          generation: maps.backendGenerations[$0.key] ?? 0)
                },
                freeGenerations: maps.vips.filter { !owned.contains($0.key) && $0.value.generation != 0 }
                    .mapValues(\.generation),
                freeBackendGenerations: maps.backendGenerations.filter { maps.backends[$0.key] == nil && $0.value != 0 })
        }
    }

    // MARK: DatapathWriter

    public func setBackend(index: UInt32, address: IPAddress, up: Bool, generation: UInt16) throws {
        try write(.setBackend(index: index, address: address, up: up)) { maps in
            try self.checkBackendIndex(index, in: &maps)
            if let current = maps.backends[index], current.address != address || (current.up && !up) {
                self.checkUnreferenced(index, in: &maps, "backend \(index) changed while a live ring names it")
            }
            if let owner = maps.backendOwners[index], owner != address, maps.backendGenerations[index] == generation {
                maps.violations.append("backend index \(index) passed from \(owner) to \(address) with the same generation")
            }
            maps.backends[index] = (address, up)
            maps.backendGenerations[index] = generation
            maps.backendOwners[index] = address
        }
    }

    public func clearBackend(index: UInt32, generation: UInt16) throws {
        try write(.clearBackend(index: index)) { maps in
            try self.checkBackendIndex(index, in: &maps)
            self.checkUnreferenced(index, in: &maps, "backend \(index) cleared while a live ring names it")
            maps.backends[index] = nil
            maps.backendGenerations[index] = generation
        }
    }

    public func writeRing(vipIndex: UInt32, ring: UInt32, slots: [UInt32], changedSlots: [Int]?) throws {
        try write(.writeRing(vipIndex: vipIndex, ring: ring, changedSlots: changedSlots)) { maps in
            guard vipIndex < self.limits.maxVIPs, ring < 2, slots.count == self.limits.ringSize else {
                throw Self.reject("ring \(ring) of VIP index \(vipIndex) with \(slots.count) slots", in: &maps)
            }
            if maps.vipMap.values.contains(vipIndex), let info = maps.vips[vipIndex], info.liveRing == ring,
               !info.flags.contains(.noBackend) {
                maps.violations.append("ring \(ring) of VIP index \(vipIndex) written while live")
            }
            var rings = maps.rings[vipIndex] ?? Self.emptyRings(self.limits.ringSize)
            for slot in changedSlots ?? Array(slots.indices) { rings[Int(ring)][slot] = slots[slot] }
            maps.rings[vipIndex] = rings
        }
    }

    public func installVIP(_ vip: VIPKey, index: UInt32, info: VIPInfo) throws {
        try write(.installVIP(vip, index: index, info: info)) { maps in
            guard index < self.limits.maxVIPs, info.liveRing < 2 else {
                throw Self.reject("VIP \(vip) at index \(index), live ring \(info.liveRing)", in: &maps)
            }
            if let owner = maps.owners[index], owner.key != vip, owner.generation == info.generation {
                maps.violations.append("VIP index \(index) passed from \(owner.key) to \(vip) with the same generation")
            }
            if !info.flags.contains(.noBackend) {
                let live = self.ring(in: maps, index, info.liveRing)
                if let slot = live.firstIndex(where: { maps.backends[$0]?.up != true }) {
                    maps.violations.append("VIP \(vip) goes live with slot \(slot) naming backend \(live[slot]), not up")
                }
            }
            maps.vips[index] = info
            maps.vipMap[vip] = index
            maps.owners[index] = (vip, info.generation)
        }
    }

    public func removeVIP(_ vip: VIPKey) throws {
        try write(.removeVIP(vip)) { maps in
            guard let index = maps.vipMap.removeValue(forKey: vip) else { return }
            if var info = maps.vips[index] {
                info.generation &+= 1
                info.flags = .noBackend
                maps.vips[index] = info
            }
        }
    }

    public func writeQUICServers(vipIndex: UInt32, vipGeneration: UInt32, servers: [UInt32: QUICServer]) throws {
        try write(.writeQUICServers(vipIndex: vipIndex, servers: servers)) { maps in
            for (id, server) in servers where maps.backends[server.backendIndex] == nil {
                maps.violations.append("QUIC server id \(id) of VIP index \(vipIndex) names backend \(server.backendIndex), not set")
            }
            maps.quicServers[vipIndex] = servers.isEmpty ? nil : (vipGeneration, servers)
        }
    }

    // MARK: Internals

    private func locked<T>(_ body: (inout Maps) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&maps)
    }

    /// Logs `operation`, applies it unless a failure is injected for it.
    private func write(_ operation: Operation, _ apply: (inout Maps) throws -> Void) throws {
        try locked { maps in
            maps.log.append(operation)
            guard let position = maps.failures.firstIndex(where: { $0.matches(operation) }) else {
                return try apply(&maps)
            }
            let failure = maps.failures.remove(at: position)
            if failure.afterApplying { try apply(&maps) }
            throw InjectedFailure(operation: operation)
        }
    }

    private func checkBackendIndex(_ index: UInt32, in maps: inout Maps) throws {
        guard index != 0, index < limits.backendMapEntries else {
            throw Self.reject("backend index \(index)", in: &maps)
        }
    }

    private static func reject(_ write: String, in maps: inout Maps) -> RejectedWrite {
        maps.violations.append("rejected write: \(write)")
        return RejectedWrite(description: "rejected write: \(write)")
    }

    private func checkUnreferenced(_ index: UInt32, in maps: inout Maps, _ violation: String) {
        for (vip, vipIndex) in maps.vipMap {
            guard let info = maps.vips[vipIndex], !info.flags.contains(.noBackend),
                  ring(in: maps, vipIndex, info.liveRing).contains(index) else { continue }
            maps.violations.append("\(violation) (VIP \(vip))")
        }
    }

    /// A ring as the map holds it: zeroes until written.
    private func ring(in maps: Maps, _ vipIndex: UInt32, _ ring: UInt32) -> [UInt32] {
        maps.rings[vipIndex]?[Int(ring & 1)] ?? [UInt32](repeating: 0, count: limits.ringSize)
    }

    private static func emptyRings(_ size: Int) -> [[UInt32]] {
        [[UInt32](repeating: 0, count: size), [UInt32](repeating: 0, count: size)]
    }
}
