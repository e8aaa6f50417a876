import Balancer
import Datapath
import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP (`systemctl reload lbd`): re-reads the configuration file and applies its
/// daemon settings — gateway MAC (re-resolved when `auto`), MTU, encapsulation sources,
/// default UDP timeout — by rewriting `lb_config`, logging each change. Keys that only a
/// restart applies are logged as such; `services:` is a seed and ignored (the state
/// file is the truth). A file with errors, an unresolvable gateway, or encapsulation
/// sources the current backends need removed is refused whole: nothing changes.
struct ReloadService: Service {
    let configurationPath: String
    let datapath: BalancerDatapath
    let coordinator: EditCoordinator
    let logger: Logger
    /// The configuration the daemon started with: keys only a restart applies are
    /// compared with it, so a pending change is reported at every reload until then.
    let started: Configuration
    /// What is in force: the configuration and resolved settings of the last (re)load.
    let current: Current
    /// `lbd_config_reloads_total` by result.
    var metrics: ControlPlaneMetrics?

    actor Current {
        var configuration: Configuration
        var settings: RuntimeSettings

        init(configuration: Configuration, settings: RuntimeSettings) {
            self.configuration = configuration
            self.settings = settings
        }

        func set(_ configuration: Configuration, _ settings: RuntimeSettings) {
            self.configuration = configuration
            self.settings = settings
        }
    }

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            await reload()
        }
    }

    func reload() async {
        let applied = await applyReload()
        (applied ? metrics?.reloads.ok : metrics?.reloads.failed)?.increment()
    }

    /// Whether the file's settings are now in force; on false nothing changed.
    private func applyReload() async -> Bool {
        logger.notice("reloading the configuration (SIGHUP)", metadata: ["config": "\(configurationPath)"])
        let new: Configuration
        do {
            new = try ConfigurationFile.load(configurationPath)
        } catch {
            logger.error("reload refused: the configuration has errors; nothing changed",
                         metadata: ["errors": "\(error.lines.joined(separator: "; "))"])
            return false
        }
        let settings: RuntimeSettings
        do {
            settings = RuntimeSettings(new, gateway: try GatewayResolver.resolve(new.gatewayMAC, interface: started.interface))
        } catch {
            logger.error("reload refused; nothing changed", metadata: ["error": "\(error)"])
            return false
        }
        // The state's backends must keep an encapsulation source of their family.
        let oldLimits = await coordinator.limits
        var limits = oldLimits
        limits.backendFamilies = new.limits.backendFamilies
        do {
            try await coordinator.setLimits(limits)
        } catch {
            logger.error("reload refused: the services need the encapsulation sources removed; nothing changed",
                         metadata: ["error": "\(error)"])
            return false
        }
        let changes = await current.settings.changes(to: settings)
        do {
            try DatapathBootstrap.writeRuntimeConfig(settings, to: datapath)
        } catch {
            logger.error("reload: writing lb_config failed; the previous settings stay", metadata: ["error": "\(error)"])
            try? await coordinator.setLimits(oldLimits)
            return false
        }
        await current.set(new, settings)
        for key in RuntimeSettings.restartOnlyChanges(from: started, to: new) {
            logger.warning("\(key) changed in the file: it takes effect at the next restart", metadata: ["key": "\(key)"])
        }
        logger.notice("configuration reloaded", metadata: [
            "changed": "\(changes.isEmpty ? "nothing" : changes.joined(separator: "; "))",
        ])
        return true
    }
}
