import PacketCraft

/// What the balancer should do with a frame, worked out from the RFC layouts and the rules
/// of docs/datapath.md alone: lengths come from the IP header, never from the frame, and the
/// bytes of every transmitted frame are built here (PacketCraft's full checksums, the
/// test's own flow hash), never taken from the program.
struct BalancerModel {
    struct VIP {
        let address: [UInt8]
        let port: UInt16
        let proto: UInt8
        let index: UInt32
    }

    let vips: [VIP]
    let backends: [UInt32: [UInt8]]
    /// The backend index the VIP's ring gives a flow hash (the ring never changes in a run,
    /// so the connection table agrees with it).
    let ringBackend: (UInt32, UInt32) -> UInt32
    let mtu: Int
    let gatewayMAC: [UInt8]
    let encapV4: (prefix: [UInt8], mask: [UInt8])
    let encapV6: (prefix: [UInt8], mask: [UInt8])

    enum Outcome {
        case pass
        case drop
        /// `name` says which path built it; `unchecked` is a range of bytes the model cannot
        /// predict (an echo reply's checksum when the request's was already wrong).
        case transmit([UInt8], name: String, unchecked: Range<Int>? = nil)

        var name: String {
            switch self {
            case .pass: return "pass"
            case .drop: return "drop"
            case .transmit(_, let name, _): return name
            }
        }

        /// Why the program's result differs from this outcome, or nil.
        func mismatch(action: UInt32, output: [UInt8], input: [UInt8]) -> String? {
            switch self {
            case .pass:
                if action != XDP_PASS_ { return "action \(action), expected XDP_PASS" }
                return output == input ? nil : "passed, but not untouched"
            case .drop:
                return action == XDP_DROP_ ? nil : "action \(action), expected XDP_DROP"
            case .transmit(let bytes, let name, let unchecked):
                if action != XDP_TX_ { return "action \(action), expected XDP_TX (\(name))" }
                var got = output
                if let unchecked, got.count == bytes.count { got.replaceSubrange(unchecked, with: bytes[unchecked]) }
                return got == bytes ? nil : "\(name) differs from the model's\n want  \(bytes.map { String(format: "%02x", $0) }.joined())"
            }
        }
    }

    /// One IP packet in a frame, as its headers describe it.
    private struct Packet4or6 {
        let frame: [UInt8]
        let l3: Int
        let v4: Bool
        let length: Int     // the IP packet's own length, header included
        let proto: UInt8
        let src: [UInt8]
        let dst: [UInt8]
        let tos: UInt8
        var l4: Int { l3 + (v4 ? 20 : 40) }
        var l4Length: Int { length - (v4 ? 20 : 40) }
        var l4Bytes: ArraySlice<UInt8> { frame[l4..<l3 + length] }
    }

    private struct Flow {
        let src: [UInt8], dst: [UInt8]
        let sport: UInt16, dport: UInt16
        let proto: UInt8
    }

    func outcome(_ f: [UInt8]) -> Outcome {
        guard f.count >= 14 else { return .pass }
        var l3 = 14
        var type = be16(f, 12)
        if type == Packet.ethVLAN {
            guard f.count >= 18 else { return .pass }
            type = be16(f, 16)
            l3 = 18
        }
        switch type {
        case Packet.ethIPv4: return ipv4(f, l3)
        case Packet.ethIPv6: return ipv6(f, l3)
        default: return .pass
        }
    }

    private func ipv4(_ f: [UInt8], _ l3: Int) -> Outcome {
        guard f.count >= l3 + 20, f[l3] >> 4 == 4 else { return .pass }
        let headerLength = Int(f[l3] & 0x0f) * 4, total = Int(be16(f, l3 + 2))
        guard headerLength >= 20, total >= headerLength, l3 + total <= f.count else { return .pass }
        let dst = Array(f[l3 + 16..<l3 + 20])
        if be16(f, l3 + 6) & 0x3fff != 0 || headerLength != 20 { return isVIPAddress(dst) ? .drop : .pass }
        let packet = Packet4or6(frame: f, l3: l3, v4: true, length: total, proto: f[l3 + 9],
                                src: Array(f[l3 + 12..<l3 + 16]), dst: dst, tos: f[l3 + 1])
        return transport(packet)
    }

    private func ipv6(_ f: [UInt8], _ l3: Int) -> Outcome {
        guard f.count >= l3 + 40, f[l3] >> 4 == 6 else { return .pass }
        let length = 40 + Int(be16(f, l3 + 4))
        guard l3 + length <= f.count else { return .pass }
        let dst = Array(f[l3 + 24..<l3 + 40]), next = f[l3 + 6]
        if next == 44 || [0, 43, 60, 51, 135, 139, 140].contains(next) { return isVIPAddress(dst) ? .drop : .pass }
        let packet = Packet4or6(frame: f, l3: l3, v4: false, length: length, proto: next,
                                src: Array(f[l3 + 8..<l3 + 24]), dst: dst, tos: f[l3] << 4 | f[l3 + 1] >> 4)
        return transport(packet)
    }

    private func transport(_ p: Packet4or6) -> Outcome {
        if p.proto == Packet.icmp || p.proto == Packet.icmpv6 {
            return (p.proto == Packet.icmp) == p.v4 ? icmp(p) : .pass
        }
        guard p.proto == Packet.tcp || p.proto == Packet.udp else { return .pass }
        if p.proto == Packet.tcp {
            let offset = p.l4Length >= 20 ? Int(p.frame[p.l4 + 12] >> 4) * 4 : 0
            guard offset >= 20, offset <= p.l4Length else { return .pass }
        } else {
            guard p.l4Length >= 8 else { return .pass }
        }
        let flow = Flow(src: p.src, dst: p.dst, sport: be16(p.frame, p.l4), dport: be16(p.frame, p.l4 + 2), proto: p.proto)
        guard let vip = lookupVIP(flow) else { return .pass }
        return send(p, flow: flow, vip: vip)
    }

    private func icmp(_ p: Packet4or6) -> Outcome {
        guard p.l4Length >= 2, isVIPAddress(p.dst) else { return .pass }
        let (type, code) = (p.frame[p.l4], p.frame[p.l4 + 1])
        if type == (p.v4 ? 8 : 128) { return p.l4Length >= 8 ? echoReply(p) : .pass }
        guard p.v4 ? type == 3 && code == 4 : type == 2 else { return .pass }
        // The error quotes a packet the backend sent (VIP -> client): the flow is the client's.
        let q = p.l4 + 8, quotedHeader = p.v4 ? 20 : 40
        guard p.l4Length >= 8 + quotedHeader + 4, !p.v4 || p.frame[q] & 0x0f == 5 else { return .pass }
        let proto = p.frame[q + (p.v4 ? 9 : 6)]
        let (qsrc, qdst) = p.v4 ? (p.frame[q + 12..<q + 16], p.frame[q + 16..<q + 20]) : (p.frame[q + 8..<q + 24], p.frame[q + 24..<q + 40])
        guard proto == Packet.tcp || proto == Packet.udp else { return .pass }
        let flow = Flow(src: Array(qdst), dst: Array(qsrc), sport: be16(p.frame, q + quotedHeader + 2),
                        dport: be16(p.frame, q + quotedHeader), proto: proto)
        guard let vip = lookupVIP(flow) else { return .pass }
        return send(p, flow: flow, vip: vip, name: "icmp forwarded")
    }

    private func send(_ p: Packet4or6, flow: Flow, vip: VIP, name: String = "encapsulated") -> Outcome {
        let hash = FlowHash.flow(src: flow.src, dst: flow.dst, sport: flow.sport, dport: flow.dport, proto: flow.proto)
        guard let backend = backends[ringBackend(vip.index, hash)] else { return .drop }
        if backend.count == 4 && !p.v4 { return .drop }
        let overhead = backend.count == 4 ? 20 : 40
        if mtu != 0 && p.length + overhead > mtu { return tooBig(p, mtu: mtu - overhead) }
        let client = FlowHash.client(src: flow.src, sport: flow.sport)
        let inner = Array(p.frame[p.l3..<p.l3 + p.length]), padding = Array(p.frame[(p.l3 + p.length)...])
        let next = p.v4 ? Packet.ipip : Packet.ipv6InIP
        let outer: [UInt8]
        if backend.count == 4 {
            let source = FlowHash.outerSourceV4(prefix: encapV4.prefix, mask: encapV4.mask, client: client)
            outer = Packet.ipv4Header(src: source, dst: backend, proto: next, payloadLength: inner.count, tos: p.tos,
                                      ttl: 64, id: 0, flagsAndOffset: 0) + inner
        } else {
            let source = FlowHash.outerSourceV6(prefix: encapV6.prefix, mask: encapV6.mask, client: client)
            outer = Packet.ipv6(src: source, dst: backend, nextHeader: next, payload: inner, trafficClass: p.tos,
                                flowLabel: client, hopLimit: 64)
        }
        let l2 = gatewayMAC + Array(p.frame[0..<6]) + Array(p.frame[12..<p.l3 - 2])
            + Packet.be16(backend.count == 4 ? Packet.ethIPv4 : Packet.ethIPv6)
        return .transmit(l2 + outer + padding, name: name)
    }

    /// Fragmentation needed / packet too big back to the sender, quoting what RFC 1812 /
    /// RFC 4443 allow: up to 576 / 1280 bytes for the whole error.
    private func tooBig(_ p: Packet4or6, mtu: Int) -> Outcome {
        let quote = Array(p.frame[p.l3..<p.l3 + min(p.length, p.v4 ? 548 : 1232)])
        let ip: [UInt8]
        if p.v4 {
            let icmp = Packet.icmpv4(type: 3, code: 4, rest: [0, 0] + Packet.be16(UInt16(mtu)), body: quote)
            ip = Packet.ipv4(src: p.dst, dst: p.src, proto: Packet.icmp, payload: icmp, ttl: 64, id: 0, flagsAndOffset: 0)
        } else {
            let icmp = Packet.icmpv6(src: p.dst, dst: p.src, type: 2, code: 0, rest: Packet.be32(UInt32(mtu)), body: quote)
            ip = Packet.ipv6(src: p.dst, dst: p.src, nextHeader: Packet.icmpv6, payload: icmp, hopLimit: 64)
        }
        return .transmit(replyL2(p) + ip, name: "too big")
    }

    /// The request with addresses swapped, TTL 64 and the reply type; its checksum is the
    /// full sum of the reply when the request's was right, unknown when it was not.
    private func echoReply(_ p: Packet4or6) -> Outcome {
        let request = Array(p.l4Bytes)
        let rest = Array(request[4..<8]), body = Array(request[8...])
        let ip: [UInt8]
        let requestValid: Bool
        if p.v4 {
            requestValid = Packet.checksum(request) == 0
            let header = Array(p.frame[p.l3..<p.l4])
            let replyHeader = Packet.ipv4Header(src: p.dst, dst: p.src, proto: Packet.icmp, payloadLength: request.count,
                                                tos: header[1], ttl: 64, id: be16(header, 4), flagsAndOffset: be16(header, 6))
            ip = replyHeader + Packet.icmpv4(type: 0, code: request[1], rest: rest, body: body)
        } else {
            let pseudo = p.src + p.dst + Packet.be32(UInt32(request.count)) + [0, 0, 0, Packet.icmpv6]
            requestValid = Packet.checksum(pseudo + request) == 0
            let header = Array(p.frame[p.l3..<p.l3 + 8])
            let reply = Packet.icmpv6(src: p.dst, dst: p.src, type: 129, code: request[1], rest: rest, body: body)
            ip = Array(header[0..<7]) + [64] + p.dst + p.src + reply
        }
        let padding = Array(p.frame[(p.l3 + p.length)...])
        let checksum = (p.l4 + 2)..<(p.l4 + 4)
        return .transmit(replyL2(p) + ip + padding, name: "echo reply", unchecked: requestValid ? nil : checksum)
    }

    /// Back to the sender: MACs swapped, the VLAN tag and EtherType kept.
    private func replyL2(_ p: Packet4or6) -> [UInt8] {
        Array(p.frame[6..<12]) + Array(p.frame[0..<6]) + Array(p.frame[12..<p.l3])
    }

    private func isVIPAddress(_ address: [UInt8]) -> Bool { vips.contains { $0.address == address } }

    private func lookupVIP(_ flow: Flow) -> VIP? {
        let candidates = vips.filter { $0.address == flow.dst && $0.proto == flow.proto }
        return candidates.first { $0.port == flow.dport } ?? candidates.first { $0.port == 0 }
    }

    private func be16(_ f: [UInt8], _ at: Int) -> UInt16 { UInt16(f[at]) << 8 | UInt16(f[at + 1]) }
}
