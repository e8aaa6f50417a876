import Balancer
import Datapath
import Logging
import ServiceLifecycle
import UnixSignals

/// What a reload did: applied, with the settings it changed and what the operator should
/// know (keys only a restart applies, seed services that differ from the state), or
/// refused with the reason, nothing changed.
public enum ReloadOutcome: Equatable, Sendable {
    case applied(changes: [String], notes: [String])
    case refused(String)
}

/// A reload (`systemctl reload lbd`: `lbd reload`, or SIGHUP): re-reads the configuration
/// file and applies its daemon settings — gateway MAC (re-resolved when `auto`), MTU,
/// encapsulation sources, default UDP timeout — by rewriting `lb_config`, logging each
/// change. Keys that only a restart applies are reported as such; `services:` is a seed
/// and not applied (the state file is the truth; `lbctl apply` changes it), reported
/// when it differs. A file with errors, an unresolvable gateway, or encapsulation sources
/// the current backends need removed is refused whole: nothing changes. One reload at a
/// time, whichever way it was asked for.
public actor Reloader {
    let configurationPath: String
    let datapath: BalancerDatapath
    let coordinator: EditCoordinator
    let logger: Logger
    /// The configuration the daemon started with: keys only a restart applies are
    /// compared with it, so a pending change is reported at every reload until then.
    let started: Configuration
    /// The resolved settings of the last (re)load: what is in force.
    private var settings: RuntimeSettings
    /// `lbd_config_reloads_total` by result.
    let metrics: ControlPlaneMetrics?

    init(configurationPath: String, datapath: BalancerDatapath, coordinator: EditCoordinator, logger: Logger,
         started: Configuration, settings: RuntimeSettings, metrics: ControlPlaneMetrics?) {
        self.configurationPath = configurationPath
        self.datapath = datapath
        self.coordinator = coordinator
        self.logger = logger
        self.started = started
        self.settings = settings
        self.metrics = metrics
    }

    /// Reloads; `trigger` (SIGHUP, API) goes to the log.
    public func reload(trigger: String) async -> ReloadOutcome {
        let outcome = await applyReload(trigger: trigger)
        if case .applied = outcome { metrics?.reloads.ok.increment() } else { metrics?.reloads.failed.increment() }
        return outcome
    }

    private func applyReload(trigger: String) async -> ReloadOutcome {
        logger.notice("reloading the configuration (\(trigger))", metadata: ["config": "\(configurationPath)"])
        let new: Configuration
        do {
            new = try ConfigurationFile.load(configurationPath)
        } catch {
            return refuse("the configuration has errors; nothing changed", key: "errors",
                          detail: error.lines.joined(separator: "; "))
        }
        let newSettings: RuntimeSettings
        do {
            newSettings = RuntimeSettings(new, gateway: try GatewayResolver.resolve(new.gatewayMAC, interface: started.interface))
        } catch {
            return refuse("nothing changed", key: "error", detail: "\(error)")
        }
        // The state's backends must keep an encapsulation source of their family.
        let oldLimits = await coordinator.limits
        var limits = oldLimits
        limits.backendFamilies = new.limits.backendFamilies
        do {
            try await coordinator.setLimits(limits)
        } catch {
            return refuse("the services need the encapsulation sources removed; nothing changed", key: "error",
                          detail: "\(error)")
        }
        let changes = settings.changes(to: newSettings)
        do {
            try DatapathBootstrap.writeRuntimeConfig(newSettings, to: datapath)
        } catch {
            try? await coordinator.setLimits(oldLimits)
            return refuse("writing lb_config failed; the previous settings stay", key: "error", detail: "\(error)")
        }
        settings = newSettings
        var notes: [String] = []
        for key in RuntimeSettings.restartOnlyChanges(from: started, to: new) {
            logger.warning("\(key) changed in the file: it takes effect at the next restart", metadata: ["key": "\(key)"])
            notes.append("\(key) changed in the file: it takes effect at the next restart")
        }
        if let drift = SeedServices.drift(new, saved: await coordinator.state, statePath: StateStore(directory: started.stateDirectory).path) {
            logger.warning("\(drift)")
            notes.append(drift)
        }
        logger.notice("configuration reloaded", metadata: [
            "changed": "\(changes.isEmpty ? "nothing" : changes.joined(separator: "; "))",
        ])
        return .applied(changes: changes, notes: notes)
    }

    /// Logs `reload refused: why` with `key=detail`; the outcome carries both.
    private func refuse(_ why: String, key: String, detail: String) -> ReloadOutcome {
        logger.error("reload refused: \(why)", metadata: [key: "\(detail)"])
        return .refused("reload refused: \(why): \(detail)")
    }
}

/// SIGHUP: a reload, as `lbd reload` asks for it over the API.
struct ReloadService: Service {
    let reloader: Reloader

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            _ = await reloader.reload(trigger: "SIGHUP")
        }
    }
}
