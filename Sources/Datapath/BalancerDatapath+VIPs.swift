import CLBABI

/// The map writes that make a VIP appear or disappear, in the order the program can
/// never observe half-done: what a key points to exists before the key does, and goes
/// after it.
extension BalancerDatapath {
    /// Serves `key` from VIP index `index` with `info` (whose rings the caller has
    /// written): the index's state first, then the key, then the address for ICMP and
    /// the filter bit that lets the packet path find it.
    public func installVIP(_ key: lb_vip_key, index: UInt32, info: lb_vip_info) throws {
        let isNew = try vipMap.lookup(key: key) == nil
        try vips.update(key: index, value: info)
        try vipMap.update(key: key, value: index)
        if isNew {
            let addressKey = Self.addressKey(of: key)
            try vipAddrs.update(key: addressKey, value: (try vipAddrs.lookup(key: addressKey) ?? 0) + 1)
            try rebuildFilter()
        }
    }

    /// Stops serving `key`: the key goes first, so no new packet finds the index; the
    /// index's generation moves on, so its connection entries go stale; then the
    /// address (when no other VIP uses it) and the filter.
    public func removeVIP(_ key: lb_vip_key) throws {
        guard let index = try vipMap.lookup(key: key) else { return }
        try vipMap.delete(key: key)
        if var info = try vips.lookup(key: index) {
            info.generation &+= 1
            info.flags = UInt32(LB_VIP_F_NO_BACKEND)
            try vips.update(key: index, value: info)
        }
        let addressKey = Self.addressKey(of: key)
        let count = try vipAddrs.lookup(key: addressKey) ?? 0
        if count > 1 {
            try vipAddrs.update(key: addressKey, value: count - 1)
        } else {
            try vipAddrs.delete(key: addressKey)
        }
        try rebuildFilter()
    }

    /// Sets exactly the bits of the addresses in vip_addrs. Bits only ever differ by
    /// the addresses added or removed, so a packet reading during the write sees every
    /// other address's bit set.
    public func rebuildFilter() throws {
        let addresses = try vipAddrs.keys().map { key -> [UInt8] in
            let all = withUnsafeBytes(of: key.addr) { Array($0) }
            return key.family == UInt8(LB_FAMILY_V4) ? Array(all[0..<4]) : all
        }
        try vipFilter.update(key: 0, value: VIPFilter.filter(for: addresses))
    }

    private static func addressKey(of key: lb_vip_key) -> lb_vip_addr_key {
        var addressKey = lb_vip_addr_key()
        addressKey.addr = key.addr
        addressKey.family = key.family
        return addressKey
    }
}
