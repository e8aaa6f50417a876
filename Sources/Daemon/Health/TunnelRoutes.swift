import Balancer
import Datapath
import HealthCheck

/// How a check through the tunnel (`via: tunnel`) reaches its backend: its socket is
/// bound to the balancer's interface, where the tunnel program is attached, and marked
/// with the index the reconciler gave the backend in the `backends` map, which the
/// program reads (`ProbeEncapsulator`).
public struct TunnelRoutes: Sendable {
    let interfaceIndex: UInt32
    /// The reconciler's last published view: every backend of a service has an index.
    let published: ReconcilerPublication

    public init(interfaceIndex: UInt32, published: ReconcilerPublication) {
        self.interfaceIndex = interfaceIndex
        self.published = published
    }

    /// The backends' indices now, looked up once per sync.
    func indices() -> [IPAddress: UInt32] {
        Dictionary(published.view.snapshot.backends.map { ($0.address, $0.index) }, uniquingKeysWith: { first, _ in first })
    }

    /// The tunnel to `backend` for a check of `vip`; nil when the backend has no index
    /// the mark can carry.
    func tunnel(vip: VIPKey, backendIndex: UInt32?) -> ProbeTunnel? {
        guard let backendIndex, let mark = ProbeEncapsulator.mark(backendIndex: backendIndex) else { return nil }
        return ProbeTunnel(vip: vip.address.description, mark: mark, interfaceIndex: interfaceIndex)
    }
}
