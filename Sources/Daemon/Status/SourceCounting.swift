import CLBABI
import Datapath
import Foundation

/// Counting new flows per source on demand: the datapath updates source_flows only
/// while flood_config has a per-source limit or says `counting`, which is on while at
/// least one sources window (`GET /v1/sources?seconds=`) is open.
///
/// lbd writes flood_config from two places, each its own fields: the runtime settings
/// (at start and on reload) and these windows. Both go through `change`, under one lock,
/// so neither writes the other's fields back stale.
public final class SourceCounting: @unchecked Sendable {
    private static let writes = NSLock()
    private let lock = NSLock()
    private var openWindows = 0
    private let floodConfig: BPFMap<UInt32, lb_flood_config>

    public init(floodConfig: BPFMap<UInt32, lb_flood_config>) {
        self.floodConfig = floodConfig
    }

    /// Turns counting on if no other window has.
    func openWindow() throws {
        try lock.withLock {
            if openWindows == 0 { try Self.change(floodConfig) { $0.counting = 1 } }
            openWindows += 1
        }
    }

    /// Turns counting off when this was the last open window.
    func closeWindow() throws {
        try lock.withLock {
            openWindows -= 1
            if openWindows == 0 { try Self.change(floodConfig) { $0.counting = 0 } }
        }
    }

    /// Applies `edit` to flood_config's entry (zeroes when the map has none); returns
    /// whether that changed it, and then writes it.
    @discardableResult
    static func change(_ map: BPFMap<UInt32, lb_flood_config>, _ edit: (inout lb_flood_config) -> Void) throws -> Bool {
        try writes.withLock {
            let old = try map.lookup(key: 0) ?? lb_flood_config()
            var new = old
            edit(&new)
            if withUnsafeBytes(of: old, { a in withUnsafeBytes(of: new) { b in a.elementsEqual(b) } }) { return false }
            try map.update(key: 0, value: new)
            return true
        }
    }
}
