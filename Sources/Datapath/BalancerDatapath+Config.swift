import CLBABI

/// The runtime configuration entry, `config[0]`, written by the daemon at start and
/// reload from its configuration file (not by the reconciler: it is no part of the
/// services' state).
extension BalancerDatapath {
    /// `config[0]` := `new` when it differs from what the map holds (a fresh map holds
    /// zeroes); returns whether it wrote.
    @discardableResult
    public func writeConfig(_ new: lb_config) throws -> Bool {
        try config.updateIfChanged(key: 0, value: new)
    }
}
