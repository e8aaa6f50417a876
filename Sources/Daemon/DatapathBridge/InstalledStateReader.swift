import Balancer
import CLBABI
import Datapath

/// What a pinned datapath holds, in the reconciler's terms, so a restarted daemon
/// adopts it instead of rewriting it.
public enum InstalledStateReader {
    public static func read(_ datapath: BalancerDatapath) throws -> InstalledState {
        var vips: [InstalledState.VIP] = []
        var usedIndices = Set<UInt32>()
        for (rawKey, index, info) in try datapath.installedVIPs() {
            guard let key = ABIConversion.vipKey(rawKey) else { continue }
            usedIndices.insert(index)
            let vipInfo = ABIConversion.info(info)
            vips.append(InstalledState.VIP(
                key: key, index: index, info: vipInfo,
                liveSlots: try datapath.readRing(vipIndex: index, ring: vipInfo.liveRing),
                standbySlots: try datapath.readRing(vipIndex: index, ring: vipInfo.liveRing ^ 1)))
        }
        var backends: [InstalledState.Backend] = []
        var freeBackendGenerations: [UInt32: UInt16] = [:]
        for index in 1..<datapath.limits.maxBackends {
            guard let backend = try datapath.backend(index: index) else { continue }
            guard let address = ABIConversion.address(backend.addr, family: backend.family) else {
                if backend.generation != 0 { freeBackendGenerations[index] = backend.generation }
                continue
            }
            backends.append(InstalledState.Backend(index: index, address: address,
                                                   up: backend.flags & UInt8(LB_BACKEND_F_UP) != 0,
                                                   generation: backend.generation))
        }
        var freeGenerations: [UInt32: UInt32] = [:]
        for index in 0..<datapath.limits.maxVIPs where !usedIndices.contains(index) {
            if let info = try datapath.vipInfo(index: index), info.generation != 0 {
                freeGenerations[index] = info.generation
            }
        }
        return InstalledState(vips: vips, backends: backends, freeGenerations: freeGenerations,
                              freeBackendGenerations: freeBackendGenerations)
    }
}
