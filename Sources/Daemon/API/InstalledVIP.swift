import Balancer

extension ReconcilerSnapshot {
    /// The entry of `vip`; 404 when the reconciler has not installed it.
    func installed(_ vip: VIPKey) throws(APIError) -> VIP {
        guard let installed = vips.first(where: { $0.key == vip }) else { throw .notFound("VIP \(vip) is not installed") }
        return installed
    }
}
