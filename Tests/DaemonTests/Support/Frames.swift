import PacketCraft

/// A packet from `client`:`sport` to `vip`:`port`: a TCP segment with `flags`, or a UDP
/// datagram "query".
func clientPacket(client: String = "198.51.100.7", to vip: String = "10.0.0.10", port: UInt16 = 80,
                  proto: UInt8 = Packet.tcp, sport: UInt16 = 40000, flags: UInt8 = Packet.TCPFlag.syn, flagsAndOffset: UInt16 = 0x4000) -> [UInt8] {
    let (src, dst) = (Packet.ipv4(client), Packet.ipv4(vip))
    let l4 = proto == Packet.tcp
        ? Packet.tcp(src: src, dst: dst, sport: sport, dport: port, flags: flags)
        : Packet.udp(src: src, dst: dst, sport: sport, dport: port, payload: Array("query".utf8))
    return Packet.ipv4(src: src, dst: dst, proto: proto, payload: l4, flagsAndOffset: flagsAndOffset)
}

/// That packet in the frame the router sends to lbd, for lbd's program run with
/// BPF_PROG_TEST_RUN. (Only an ICMP reply would carry the router's MAC back.)
func clientFrame(client: String = "198.51.100.7", to vip: String = "10.0.0.10", port: UInt16 = 80,
                 proto: UInt8 = Packet.tcp, sport: UInt16 = 40000, flags: UInt8 = Packet.TCPFlag.syn, flagsAndOffset: UInt16 = 0x4000) -> [UInt8] {
    Packet.ethernet(dst: Packet.mac("02:00:00:00:00:01"), src: Packet.mac(NamespaceNetwork.gatewayMAC), type: Packet.ethIPv4,
                    payload: clientPacket(client: client, to: vip, port: port, proto: proto, sport: sport, flags: flags,
                                          flagsAndOffset: flagsAndOffset))
}
