import CLBABI

/// The map writes that make a VIP appear or disappear, in the order the program can
/// never observe half-done: what a key points to exists before the key does, and goes
/// after it.
///
/// `vip_addrs` and the VIP filter are derived from `vip_map` (`syncVIPAddresses`), never
/// counted up and down, so each call repairs whatever a failed or interrupted one left.
extension BalancerDatapath {
    /// Serves `key` from VIP index `index` with `info` (whose rings the caller has
    /// written): the index's state first, then the key, then the address for ICMP and
    /// the filter bit that lets the packet path find it. A generation other than the
    /// index's zeroes its counters first: they are the new VIP's.
    public func installVIP(_ key: lb_vip_key, index: UInt32, info: lb_vip_info) throws {
        if try vips.lookup(key: index)?.generation != info.generation {
            try vipStats.update(key: index, value: lb_traffic())
            try vipFlowStats.update(key: index, value: lb_vip_flows())
        }
        let isNew = try vipMap.lookup(key: key) == nil
        try vips.update(key: index, value: info)
        try vipMap.update(key: key, value: index)
        // A ring flip of a served VIP costs two lookups, not a walk of vip_map.
        if try isNew || !reachesAddress(of: key) {
            try syncVIPAddresses()
        }
    }

    /// Stops serving `key`: the index is retired first — its generation moves on, so its
    /// connection entries go stale, and it takes no new flow —, then the key goes, then
    /// the address (when no other VIP uses it) and the filter. Retiring before deleting
    /// means a call that stops part way leaves the key for its retry to find: never an
    /// index without a key whose entries still match. (Between the two writes the VIP's
    /// packets are dropped as for a VIP without backends, then passed.) An absent key
    /// still gets the addresses synced: a previous call may have stopped after deleting it.
    public func removeVIP(_ key: lb_vip_key) throws {
        if let index = try vipMap.lookup(key: key) {
            if var info = try vips.lookup(key: index) {
                info.generation &+= 1
                info.flags = UInt32(LB_VIP_F_NO_BACKEND)
                try vips.update(key: index, value: info)
            }
            try vipMap.delete(key: key)
        }
        try syncVIPAddresses()
    }

    /// Makes `vip_addrs` hold exactly the addresses of the keys in `vip_map`, each with
    /// its number of keys, then the filter exactly their bits; writes only what differs
    /// (new and changed addresses, then stale ones, then the filter) and returns whether
    /// it wrote. Bits only ever differ by the addresses added or removed, so a packet
    /// reading the filter during the write sees every other address's bit set.
    @discardableResult
    public func syncVIPAddresses() throws -> Bool {
        var wanted: [[UInt8]: (key: lb_vip_addr_key, count: UInt32)] = [:]
        for vip in try vipMap.keys() {
            let address = Self.addressKey(of: vip)
            wanted[Self.addressBytes(address), default: (address, 0)].count += 1
        }
        var wrote = false
        for (key, count) in wanted.values where try vipAddrs.lookup(key: key) != count {
            try vipAddrs.update(key: key, value: count)
            wrote = true
        }
        for key in try vipAddrs.keys() where wanted[Self.addressBytes(key)] == nil {
            try vipAddrs.delete(key: key)
            wrote = true
        }
        let filter = VIPFilter.filter(for: Array(wanted.keys))
        if try vipFilter.updateIfChanged(key: 0, value: filter) {
            wrote = true
        }
        return wrote
    }

    /// Every key of `vip_map` (one batch walk) with its index and that index's `vips`
    /// entry, as installed.
    public func installedVIPs() throws -> [(key: lb_vip_key, index: UInt32, info: lb_vip_info)] {
        var installed: [(key: lb_vip_key, index: UInt32, info: lb_vip_info)] = []
        try vipMap.forEachEntry { key, index in
            if let info = try vips.lookup(key: index) { installed.append((key, index, info)) }
        }
        return installed
    }

    /// `vips[index]`; nil past the end of the map.
    public func vipInfo(index: UInt32) throws -> lb_vip_info? {
        try vips.lookup(key: index)
    }

    /// The key's address is in vip_addrs and its bit set in the filter.
    private func reachesAddress(of key: lb_vip_key) throws -> Bool {
        let address = Self.addressKey(of: key)
        guard try vipAddrs.lookup(key: address) != nil, let filter = try vipFilter.lookup(key: 0) else { return false }
        return VIPFilter.contains(filter, Self.addressBytes(address))
    }

    private static func addressKey(of key: lb_vip_key) -> lb_vip_addr_key {
        var addressKey = lb_vip_addr_key()
        addressKey.addr = key.addr
        addressKey.family = key.family
        return addressKey
    }

    /// The address as VIPFilter hashes it: 4 bytes for IPv4, 16 for IPv6.
    private static func addressBytes(_ key: lb_vip_addr_key) -> [UInt8] {
        let all = withUnsafeBytes(of: key.addr) { Array($0) }
        return key.family == UInt8(LB_FAMILY_V4) ? Array(all[0..<4]) : all
    }
}
