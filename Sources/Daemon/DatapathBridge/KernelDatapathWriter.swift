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
        if try datapath.backends.lookup(key: index)?.generation != generation {
            try datapath.backendStats.update(key: index, value: lb_traffic())
        }
        var backend = lb_backend()
        backend.addr = ABIAddress.words(address.bytes)
        backend.family = ABIAddress.family(address.bytes)
        backend.flags = up ? UInt8(LB_BACKEND_F_UP) : 0
        backend.generation = generation
        try datapath.backends.update(key: index, value: backend)
    }

    public func clearBackend(index: UInt32, generation: UInt16) throws {
        var backend = lb_backend()
        backend.generation = generation
        try datapath.backends.update(key: index, value: backend)
    }

    public func writeRing(vipIndex: UInt32, ring: UInt32, slots: [UInt32], changedSlots: [Int]?) throws {
        try datapath.writeRing(vipIndex: vipIndex, ring: ring, slots: slots, changedSlots: changedSlots)
    }

    public func installVIP(_ vip: VIPKey, index: UInt32, info: VIPInfo) throws {
        if try datapath.vips.lookup(key: index)?.generation != info.generation {
            try datapath.vipStats.update(key: index, value: lb_traffic())
            try datapath.vipFlowStats.update(key: index, value: lb_vip_flows())
        }
        try datapath.installVIP(ABIConversion.key(vip), index: index, info: ABIConversion.info(info))
    }

    public func removeVIP(_ vip: VIPKey) throws {
        try datapath.removeVIP(ABIConversion.key(vip))
    }
}

/// Balancer values ⇄ ABI structs.
enum ABIConversion {
    static func key(_ vip: VIPKey) -> lb_vip_key {
        var key = lb_vip_key()
        key.addr = ABIAddress.words(vip.address.bytes)
        key.port = vip.port.bigEndian
        key.proto = vip.proto.ipProtocolNumber
        key.family = ABIAddress.family(vip.address.bytes)
        return key
    }

    static func info(_ info: VIPInfo) -> lb_vip_info {
        lb_vip_info(flags: info.flags.rawValue, ring: info.liveRing,
                    udp_idle_timeout_s: info.udpIdleTimeoutSeconds, generation: info.generation)
    }

    static func info(_ info: lb_vip_info) -> VIPInfo {
        VIPInfo(flags: VIPFlags(rawValue: info.flags), liveRing: info.ring,
                udpIdleTimeoutSeconds: info.udp_idle_timeout_s, generation: info.generation)
    }

    /// The address of an ABI address tuple, nil for family 0 (an unused entry).
    static func address(_ words: (UInt32, UInt32, UInt32, UInt32), family: UInt8) -> IPAddress? {
        let bytes = withUnsafeBytes(of: words) { Array($0) }
        switch family {
        case UInt8(LB_FAMILY_V4): return IPAddress(bytes: bytes[0..<4])
        case UInt8(LB_FAMILY_V6): return IPAddress(bytes: bytes)
        default: return nil
        }
    }

    static func vipKey(_ key: lb_vip_key) -> VIPKey? {
        guard let address = address(key.addr, family: key.family),
              let proto = [TransportProtocol.tcp, .udp].first(where: { $0.ipProtocolNumber == key.proto })
        else { return nil }
        return VIPKey(address: address, port: UInt16(bigEndian: key.port), proto: proto)
    }
}
