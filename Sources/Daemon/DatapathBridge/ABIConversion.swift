import Balancer
import CLBABI
import Datapath

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
                    udp_idle_timeout_s: info.udpIdleTimeoutSeconds, generation: info.generation,
                    quic_cid_len: info.quicConnectionIDLength, quic_server_id_len: info.quicServerIDLength, pad: 0)
    }

    static func info(_ info: lb_vip_info) -> VIPInfo {
        VIPInfo(flags: VIPFlags(rawValue: info.flags), liveRing: info.ring,
                udpIdleTimeoutSeconds: info.udp_idle_timeout_s, generation: info.generation,
                quicConnectionIDLength: info.quic_cid_len, quicServerIDLength: info.quic_server_id_len)
    }

    static func quicServer(_ server: QUICServer, vipGeneration: UInt32) -> lb_quic_server {
        lb_quic_server(backend: server.backendIndex, vip_generation: UInt16(truncatingIfNeeded: vipGeneration),
                       backend_generation: server.backendGeneration)
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
