import Balancer

/// `services:` in the configuration seed the first start only: from then on the state
/// file is the truth and `lbctl apply` the way to change it. An operator who edits the
/// file's services later is told so — by `lbd check`, at a start and at a reload.
public enum SeedServices {
    /// What to tell the operator when the file's services differ from the saved state;
    /// nil when they match, or when the file has none (services managed with lbctl).
    public static func drift(_ configuration: Configuration, saved: DesiredState, statePath: String) -> String? {
        guard saved != configuration.services, !configuration.services.services.isEmpty else { return nil }
        return "services: in the configuration differ from the saved state (\(statePath)): "
            + "they seed the first start only; use lbctl apply to change the running services"
    }

    /// Why the file's services cannot seed a first start on this host, or nil: a VIP on
    /// one of the host's own addresses (`HostAddresses.clashing`) must, as through the
    /// API, be asked for with `force`, which only `lbctl` can say (a seed stays a plain
    /// services list).
    public static func refusal(_ configuration: Configuration,
                               hostAddresses: Set<IPAddress> = HostAddresses.current()) -> String? {
        let clashing = HostAddresses.clashing(configuration.services.services.keys, own: hostAddresses)
        guard !clashing.isEmpty else { return nil }
        return "services: \(EditFailure.onHostAddress(clashing)); a seed cannot force: nothing seeded. "
            + "Remove it from services: and add it after the start with lbctl vip add --force"
    }
}
