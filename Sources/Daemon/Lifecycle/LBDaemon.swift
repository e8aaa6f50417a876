import Announce
import Balancer
import HealthCheck
import Datapath
import Logging
import ServiceLifecycle

/// `lbd --config FILE`: the daemon, start to stop.
///
/// Start, in this order (each step refuses to start with one clear log line):
/// 1. the configuration file; the state directory's lock (one daemon per state);
/// 2. the gateway MAC (`auto`: the default gateway's neighbour entry);
/// 3. the datapath at `bpf_pin_dir`: adopted when it is this build, else loaded over the
///    pinned maps (an upgrade); pins of another layout or ABI refused unless
///    `--reset-datapath`; `vip_addrs` and the VIP filter derived from `vip_map`;
///    `lb_config` written if it differs;
/// 4. the desired state from `state_dir` (first start: the file's `services:`, saved;
///    a damaged file refused, or with `--recover-state` replaced by `state.json.prev`);
/// 5. the reconciler adopts what the maps hold, then applies the state: an adopted
///    datapath already serving this state gets no write at all;
/// 6. XDP attached to `interface` (already attached when adopted: nothing happens;
///    another build of the program attached: replaced atomically), so a fresh datapath
///    is complete before the first packet reaches it;
/// 7. the health checks' tunnel attached to `interface`'s egress (bpf/healthcheck.bpf.c),
///    for checks `via: tunnel`; it lives as long as this process;
/// 8. the API socket; then `READY=1` to systemd.
///
/// Then the services run under a ServiceGroup until SIGTERM or SIGINT: the API, the
/// SIGHUP reload, the reconcile retry, the systemd watchdog, the BGP announcements
/// (`announce:`), which a stop drains first: routes withdrawn, `drain_time` waited. Stopping leaves the program
/// attached and the maps pinned: forwarding continues while lbd is down, and the next
/// start adopts it (`systemctl restart lbd` is hitless; so is a crash).
public struct LBDaemon {
    public let configurationPath: String
    public let resetDatapath: Bool
    /// Start from `state.json.prev` if `state.json` cannot be loaded.
    public let recoverState: Bool
    public let logger: Logger

    public init(configurationPath: String, resetDatapath: Bool, recoverState: Bool = false, logger: Logger) {
        self.configurationPath = configurationPath
        self.resetDatapath = resetDatapath
        self.recoverState = recoverState
        self.logger = logger
    }

    public func run() async throws {
        let configuration: Configuration
        do {
            configuration = try ConfigurationFile.load(configurationPath)
        } catch {
            throw StartupFailure.configuration("invalid configuration:\n" + error.description)
        }
        let lock = try StateLock(directory: configuration.stateDirectory)
        let settings: RuntimeSettings
        do {
            settings = RuntimeSettings(configuration, gateway: try GatewayResolver.resolve(
                configuration.gatewayMAC, interface: configuration.interface))
        } catch {
            throw StartupFailure(error.description)
        }
        let datapath = try DatapathBootstrap.open(configuration, reset: resetDatapath, logger: logger)
        do {
            let written = try DatapathBootstrap.writeRuntimeConfig(settings, to: datapath)
            logger.info(written ? "lb_config written" : "lb_config unchanged", metadata: [
                "gateway_mac": "\(settings.gateway)", "mtu": "\(settings.mtu)",
                "encap_source_v4": "\(settings.encapSourceV4.map(\.description) ?? "none")",
                "encap_source_v6": "\(settings.encapSourceV6.map(\.description) ?? "none")",
                "udp_idle_timeout_s": "\(settings.udpIdleTimeout.components.seconds)",
                "tcp_idle_timeout_s": "\(settings.tcpIdleTimeout.components.seconds)",
                "tcp_linger_s": "\(settings.tcpLinger.components.seconds)",
            ])
        } catch {
            throw StartupFailure("cannot write lb_config: \(error)")
        }
        let store = StateStore(directory: configuration.stateDirectory)
        let state = try loadState(store, configuration)
        let reconciler = Reconciler(writer: KernelDatapathWriter(datapath: datapath), limits: configuration.limits,
                                    logger: Logger(label: "lbd.reconciler"))
        do {
            let installed = try InstalledStateReader.read(datapath)
            try await reconciler.adopt(installed)
            let summary = try await reconciler.apply(state)
            logger.info("first reconcile done", metadata: ["writes": "\(summary.writes)", "vips": "\(state.services.count)"])
        } catch {
            throw StartupFailure("the initial reconcile failed: \(error)")
        }
        let probeTunnel = try DatapathBootstrap.attachProbeTunnel(datapath, configuration, logger: logger)
        let events = ControlPlaneMetrics()
        let health = HealthSupervisor(monitor: HealthMonitor(logger: Logger(label: "lbd.health"), onResult: events.recordCheck),
                                      reconciler: reconciler,
                                      tunnels: TunnelRoutes(interfaceIndex: probeTunnel.interfaceIndex,
                                                            published: reconciler.published))
        await health.sync(state)
        let mode = try DatapathBootstrap.attach(datapath, configuration, logger: logger)

        let coordinator = EditCoordinator(state: state, limits: configuration.limits, store: store, reconciler: reconciler,
                                          logger: Logger(label: "lbd.edit"), metrics: events,
                                          hostAddresses: HostAddresses.current) { await health.sync($0) }
        let readings = KernelDatapathReadings(datapath: datapath, interface: configuration.interface)
        let announcer = configuration.announce.map { settings in
            Announcer(settings: settings, drainMarker: configuration.stateDirectory + "/node-drained",
                      logger: Logger(label: "lbd.announce")) { [coordinator, reconciler] in
                // What the last pass published: a pass in progress (a large apply) is not waited for.
                Servability.byAddress(await coordinator.state, reconciler.published.view.snapshot)
            }
        }
        let status = StatusReporter(coordinator: coordinator, reconciler: reconciler, health: health,
                                    readings: readings, ringSize: configuration.limits.ringSize, announcer: announcer,
                                    sourceCounting: SourceCounting(datapath: datapath))
        let reloader = Reloader(configurationPath: configurationPath, datapath: datapath, coordinator: coordinator,
                                logger: logger, started: configuration, settings: settings, metrics: events)
        let capture = PacketCapture(datapath: datapath, reconciler: reconciler)
        do {
            try capture.stopAny()
        } catch {
            throw StartupFailure("cannot turn off a capture left running: \(error)")
        }
        let api: APIServer
        do {
            api = try await APIServer.bind(path: configuration.apiSocket,
                                           router: APIRouter(coordinator: coordinator, status: status, announcer: announcer,
                                                             logger: Logger(label: "lbd.api"), reloader: reloader,
                                                             capture: capture),
                                           logger: Logger(label: "lbd.api"))
        } catch let error as StartupFailure {
            throw error
        } catch {
            throw StartupFailure("cannot listen on \(configuration.apiSocket): \(error)")
        }

        let metrics = try await MetricsEndpoint.bind(
            configuration.metricsListen,
            collector: MetricsCollector(events: events, coordinator: coordinator, reconciler: reconciler, health: health,
                                        readings: readings, announcer: announcer))

        var services: [any Service] = [
            api,
            metrics,
            health,
            ReconcileRetryService(coordinator: coordinator),
            ReloadService(reloader: reloader),
        ]
        let notifier = SystemdNotifier()
        if let notifier, let interval = SystemdNotifier.watchdogInterval() {
            services.append(WatchdogService(notifier: notifier, interval: interval, logger: logger) {
                await coordinator.ping()
            })
        }
        // Shut down (in reverse order) before the API and the checks: the node withdraws
        // its routes and waits for traffic to move while everything else still runs.
        if let announcer { services.append(announcer) }
        // Last, so that graceful shutdown (in reverse order) says STOPPING=1 first.
        services.append(SystemdLifecycleService(
            notifier: notifier, logger: logger,
            status: "serving \(state.services.count) VIPs on \(configuration.interface) (XDP \(mode))"))

        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        logger.notice("stopped; the datapath keeps forwarding (program attached, maps pinned)", metadata: [
            "interface": "\(configuration.interface)", "pin_dir": "\(configuration.bpfPinDirectory)",
        ])
        withExtendedLifetime((lock, datapath, probeTunnel)) {}
    }

    /// The saved state; on the first start (no state file), the configuration's
    /// `services:`, saved at once so later starts use the state file.
    private func loadState(_ store: StateStore, _ configuration: Configuration) throws(StartupFailure) -> DesiredState {
        do {
            if let state = try loadSaved(store, configuration.limits) {
                if let drift = SeedServices.drift(configuration, saved: state, statePath: store.path) {
                    logger.notice("\(drift)", metadata: ["vips": "\(state.services.count)"])
                }
                logger.info("state loaded", metadata: ["state": "\(store.path)", "vips": "\(state.services.count)"])
                return state
            }
        } catch .corrupt(let path, let error) {
            throw .configuration(StateStoreError.corrupt(path: path, error).description)
        } catch {
            throw StartupFailure(error.description)
        }
        return try seed(store, configuration)
    }

    /// The first start's state: the configuration's `services:`, saved at once, unless
    /// one of them is on the host's own addresses.
    private func seed(_ store: StateStore, _ configuration: Configuration) throws(StartupFailure) -> DesiredState {
        if let refusal = SeedServices.refusal(configuration) { throw .configuration(refusal) }
        do {
            try store.save(configuration.services)
        } catch {
            throw StartupFailure(error.description)
        }
        logger.notice("first start: state seeded from the configuration's services", metadata: [
            "state": "\(store.path)", "vips": "\(configuration.services.services.count)",
        ])
        return configuration.services
    }

    /// The state file; with `recoverState`, the previous state when it cannot be loaded.
    private func loadSaved(_ store: StateStore, _ limits: Limits) throws(StateStoreError) -> DesiredState? {
        do {
            let state = try store.load(limits: limits)
            if recoverState { logger.notice("--recover-state: the state file loads; nothing to recover") }
            return state
        } catch .corrupt(let path, let error) where recoverState {
            let state = try store.recoverPrevious(limits: limits)
            logger.warning("--recover-state: started from the previous state; the damaged file is kept", metadata: [
                "damaged": "\(path)", "kept_as": "\(StateStore.damagedFileName)", "error": "\(error.description)",
                "recovered_from": "\(store.previousPath)", "vips": "\(state.services.count)",
            ])
            return state
        }
    }
}
