import Datapath
import Foundation

/// Turns counting of new flows per source on for a sources window (`GET /v1/sources?seconds=`)
/// and off after it: a write, so no part of `DatapathReadings`.
public protocol SourceCountingSwitch: Sendable {
    func openWindow() throws
    func closeWindow() throws
}

/// Counting new flows per source on demand: the datapath updates source_flows only
/// while flood_config has a per-source limit or says `counting`, which is on while at
/// least one sources window (`GET /v1/sources?seconds=`) is open.
final class SourceCounting: SourceCountingSwitch, @unchecked Sendable {
    private let lock = NSLock()
    private var openWindows = 0
    private let datapath: BalancerDatapath

    init(datapath: BalancerDatapath) {
        self.datapath = datapath
    }

    /// Turns counting on if no other window has.
    func openWindow() throws {
        try lock.withLock {
            if openWindows == 0 { try datapath.setSourceCounting(true) }
            openWindows += 1
        }
    }

    /// Turns counting off when this was the last open window.
    func closeWindow() throws {
        try lock.withLock {
            openWindows -= 1
            if openWindows == 0 { try datapath.setSourceCounting(false) }
        }
    }
}
