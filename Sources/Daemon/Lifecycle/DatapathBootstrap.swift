import Balancer
import CLBABI
import Datapath
import Logging

/// The datapath steps of a start: open or adopt the pinned balancer, write its runtime
/// configuration, attach it to the interface.
public enum DatapathBootstrap {
    /// Adopts the balancer pinned at `bpf_pin_dir` when it matches this binary and the
    /// configured limits (nothing reloaded or written: forwarding and the connection
    /// table carry on), or loads it. Pins of another layout (an upgrade that changed a
    /// map, or changed `limits:`) are refused with each difference, unless `reset`:
    /// then, and only then, they are removed and the balancer loaded afresh
    /// (connections are re-hashed, counters start over). A `reset` left on by mistake
    /// therefore never discards a compatible datapath.
    static func open(_ configuration: Configuration, reset: Bool, logger: Logger) throws(StartupFailure) -> BalancerDatapath {
        let pins = configuration.bpfPinDirectory
        do {
            try preparePinDirectory(pins, logger: logger)
            let limits = try DatapathSettings.limits(configuration.limits)
            let datapath: BalancerDatapath
            do {
                datapath = try BalancerDatapath.open(pinDirectory: pins, limits: limits)
            } catch let error as DatapathError where error.kind == .incompatiblePins && reset {
                let removed = try BalancerDatapath.removePins(pinDirectory: pins)
                logger.warning("--reset-datapath: incompatible pinned datapath removed; connections will be re-hashed",
                               metadata: ["pin_dir": "\(pins)", "removed": "\(removed.joined(separator: ","))",
                                          "differences": "\(error.details.joined(separator: "; "))"])
                datapath = try BalancerDatapath.open(pinDirectory: pins, limits: limits)
            }
            logger.info(datapath.adopted ? "datapath adopted" : "datapath loaded", metadata: [
                "pin_dir": "\(pins)", "program_id": "\(datapath.program.id)", "limits": "\(limits)",
            ])
            return datapath
        } catch let error as DatapathError where error.kind == .incompatiblePins {
            throw .configuration("""
                the datapath pinned at \(pins) does not match this lbd and its limits; nothing was changed:
                \(error)
                Start once with --reset-datapath to replace it (established connections are re-hashed, \
                counters restart), or restore the previous limits.
                """)
        } catch {
            throw StartupFailure("cannot open the datapath at \(pins): \(error)")
        }
    }

    /// Creates the pin directory, first mounting bpffs at /sys/fs/bpf when the directory
    /// is under it and none is mounted there (a machine booted without systemd's mount),
    /// and says so: the mount outlives lbd.
    public static func preparePinDirectory(_ pins: String, logger: Logger) throws {
        if let mountPoint = try BPFFS.prepareDirectory(pins) {
            logger.notice("no bpffs was mounted: mounted one", metadata: ["mount_point": "\(mountPoint)", "pin_dir": "\(pins)"])
        }
    }

    /// Writes `lb_config` when it differs from what the map holds (a fresh map holds
    /// zeroes); returns whether it wrote.
    @discardableResult
    static func writeRuntimeConfig(_ settings: RuntimeSettings, to datapath: BalancerDatapath) throws -> Bool {
        let new = settings.lbConfig
        if let old = try datapath.config.lookup(key: 0), bytes(old) == bytes(new) { return false }
        try datapath.config.update(key: 0, value: new)
        return true
    }

    private static func bytes(_ config: lb_config) -> [UInt8] {
        withUnsafeBytes(of: config) { Array($0) }
    }

    /// Attaches the program to the interface; returns the mode it runs in. An adopted
    /// program already attached stays as it is; `auto` logs a fall back to generic.
    static func attach(_ datapath: BalancerDatapath, _ configuration: Configuration,
                       logger: Logger) throws(StartupFailure) -> XDPMode {
        let requested = XDPMode(rawValue: configuration.xdpMode.rawValue) ?? .auto
        do {
            let mode = try datapath.attach(interface: configuration.interface, mode: requested) { message in
                logger.warning("\(message)", metadata: ["interface": "\(configuration.interface)"])
            }
            logger.info("XDP attached", metadata: [
                "interface": "\(configuration.interface)", "mode": "\(mode)", "requested": "\(requested)",
                "program_id": "\(datapath.program.id)",
            ])
            return mode
        } catch let error as DatapathError where error.kind == .foreignProgram || error.kind == .unknownInterface {
            throw .configuration("cannot attach to \(configuration.interface): \(error)")
        } catch {
            throw StartupFailure("cannot attach to \(configuration.interface): \(error)")
        }
    }
}
