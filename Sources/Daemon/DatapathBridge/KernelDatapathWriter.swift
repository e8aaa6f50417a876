import Balancer
import CLBABI
import Datapath

/// The reconciler's writes, carried out on the kernel maps: each Balancer value becomes
/// its `bpf/lb_abi.h` struct here and nowhere else.
public struct KernelDatapathWriter: DatapathWriter {
    public let datapath: BalancerDatapath

    public init(datapath: BalancerDatapath) {
        self.datapath = datapath
    }

    public func setBackend(index: UInt32, address: IPAddress, up: Bool, generation: UInt16) throws {
        var backend = lb_backend()
        backend.addr = ABIAddress.words(address.bytes)
        backend.family = ABIAddress.family(address.bytes)
        backend.flags = up ? UInt8(LB_BACKEND_F_UP) : 0
        backend.generation = generation
        try datapath.setBackend(index: index, backend)
    }

    public func clearBackend(index: UInt32, generation: UInt16) throws {
        try datapath.clearBackend(index: index, generation: generation)
    }

    public func writeRing(vipIndex: UInt32, ring: UInt32, slots: [UInt32], changedSlots: [Int]?) throws {
        try datapath.writeRing(vipIndex: vipIndex, ring: ring, slots: slots, changedSlots: changedSlots)
    }

    public func installVIP(_ vip: VIPKey, index: UInt32, info: VIPInfo) throws {
        try datapath.installVIP(ABIConversion.key(vip), index: index, info: ABIConversion.info(info))
    }

    public func removeVIP(_ vip: VIPKey) throws {
        try datapath.removeVIP(ABIConversion.key(vip))
    }

    public func writeQUICServers(vipIndex: UInt32, vipGeneration: UInt32, servers: [UInt32: QUICServer]) throws {
        try datapath.writeQUICServers(vipIndex: vipIndex, servers: servers.mapValues {
            ABIConversion.quicServer($0, vipGeneration: vipGeneration)
        })
    }
}
