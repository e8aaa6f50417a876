import Balancer
import Datapath
import Logging

/// The datapath steps of a start: open or adopt the pinned balancer, write its runtime
/// configuration, attach it to the interface.
public enum DatapathBootstrap {
    /// Adopts the balancer pinned at `bpf_pin_dir` when it is this binary's build with the
    /// configured limits (nothing reloaded or written: forwarding and the connection
    /// table carry on), or loads it: another build of the program (an upgrade) is loaded
    /// over the same maps, their contents kept, and `attach` swaps it in atomically.
    /// Pins of another layout or ABI (an upgrade that changed a map or a struct, or
    /// changed `limits:`) are refused with each difference, unless `reset`: then, and
    /// only then, the pins that do not match are replaced (with the connection table
    /// when the maps its entries point into are) and the others kept. A `reset` left on
    /// by mistake therefore never discards a compatible datapath.
    ///
    /// Then `vip_addrs` and the VIP filter are derived from `vip_map`, repairing what a
    /// daemon that died between those writes left.
    static func open(_ configuration: Configuration, reset: Bool, logger: Logger) throws(StartupFailure) -> BalancerDatapath {
        let pins = configuration.bpfPinDirectory
        do {
            try preparePinDirectory(pins, logger: logger)
            let limits = try DatapathSettings.limits(configuration.limits)
            let datapath: BalancerDatapath
            do {
                datapath = try BalancerDatapath.open(pinDirectory: pins, limits: limits)
            } catch let error as DatapathError where error.kind == .incompatiblePins && reset {
                let removed = try BalancerDatapath.removeIncompatiblePins(pinDirectory: pins, limits: limits)
                logger.warning("--reset-datapath: the pins that do not match are replaced",
                               metadata: ["pin_dir": "\(pins)", "removed": "\(removed.joined(separator: ","))",
                                          "differences": "\(error.details.joined(separator: "; "))"])
                datapath = try BalancerDatapath.open(pinDirectory: pins, limits: limits)
            }
            logger.info(datapath.adopted ? "datapath adopted" : "datapath loaded", metadata: [
                "pin_dir": "\(pins)", "program_id": "\(datapath.program.id)", "limits": "\(limits)",
                "origin": "\(datapath.origin)",
            ])
            if try datapath.syncVIPAddresses() {
                logger.warning("vip_addrs and vip_filter repaired from vip_map (a previous lbd stopped between writes)",
                               metadata: ["pin_dir": "\(pins)"])
            }
            return datapath
        } catch let error as DatapathError where error.kind == .incompatiblePins {
            throw .configuration("""
                the datapath pinned at \(pins) does not match this lbd and its limits; nothing was changed:
                \(error)
                Start once with --reset-datapath to replace the pins that do not match (the maps listed, \
                and the connection table when they hold VIPs or backends: established connections are \
                then re-hashed), or restore the previous limits (or lbd).
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

    /// Writes `lb_config` and `flood_config` where they differ from what the maps hold
    /// (a fresh map holds zeroes); returns whether it wrote. flood_config's `counting`
    /// stays as the sources windows set it.
    @discardableResult
    static func writeRuntimeConfig(_ settings: RuntimeSettings, to datapath: BalancerDatapath) throws -> Bool {
        let wroteFlood = try datapath.writeFloodSettings(settings.floodConfig)
        return try datapath.writeConfig(settings.lbConfig) || wroteFlood
    }

    /// Attaches the program to the interface, with the NIC's VLAN tag stripping off
    /// (`VLANOffload`); returns the mode it runs in. An adopted program already attached
    /// stays as it is; `auto` logs a fall back to generic.
    static func attach(_ datapath: BalancerDatapath, _ configuration: Configuration,
                       logger: Logger) throws(StartupFailure) -> XDPMode {
        let requested = XDPMode(rawValue: configuration.xdpMode.rawValue) ?? .auto
        try VLANOffload.ensureOff(configuration.interface, logger: logger)
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

    /// The health checks' tunnel on `interface`'s egress (`ProbeEncapsulator`), over the
    /// balancer's maps: held for the daemon's life (see `ProbeEncapsulator.Hook` for what a crash leaves).
    static func attachProbeTunnel(_ datapath: BalancerDatapath, _ configuration: Configuration,
                                  logger: Logger) throws(StartupFailure) -> ProbeEncapsulator.Attachment {
        do {
            let attachment = try ProbeEncapsulator(sharing: datapath).attachEgress(interface: configuration.interface)
            logger.info("health-check tunnel attached", metadata: [
                "interface": "\(configuration.interface)", "hook": "\(attachment.hook.rawValue) egress",
            ])
            return attachment
        } catch {
            throw StartupFailure("cannot attach the health checks' tunnel to the egress of \(configuration.interface): \(error)")
        }
    }
}
