import CLBABI

/// The writes and reads of `backends`, the reconciler's through the daemon's writer.
extension BalancerDatapath {
    /// `backends[index]` := `backend`. A generation other than the entry's zeroes the
    /// index's traffic counters first: they are the new backend's.
    public func setBackend(index: UInt32, _ backend: lb_backend) throws {
        if try backends.lookup(key: index)?.generation != backend.generation {
            try backendStats.update(key: index, value: lb_traffic())
        }
        try backends.update(key: index, value: backend)
    }

    /// `backends[index]` := no address, not up, `generation` kept, counters untouched.
    public func clearBackend(index: UInt32, generation: UInt16) throws {
        var backend = lb_backend()
        backend.generation = generation
        try backends.update(key: index, value: backend)
    }

    /// `backends[index]`; nil past the end of the map.
    public func backend(index: UInt32) throws -> lb_backend? {
        try backends.lookup(key: index)
    }
}
