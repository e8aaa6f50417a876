import Balancer
import Glibc

/// The addresses of this host's interfaces (every interface, up or not): a VIP on one
/// of them would take the host's own traffic (`EditCoordinator`).
public enum HostAddresses {
    /// Read afresh from the kernel at each call (addresses come and go); empty if the
    /// kernel cannot be asked, which refuses nothing.
    @Sendable
    public static func current() -> Set<IPAddress> {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var addresses = Set<IPAddress>()
        var entry = list
        while let current = entry {
            if let address = current.pointee.ifa_addr.flatMap(Self.address) { addresses.insert(address) }
            entry = current.pointee.ifa_next
        }
        return addresses
    }

    /// The VIPs of `vips` on one of `own` addresses, in VIP order: a VIP there takes the
    /// host's own traffic to its port (every port for port 0: SSH, BGP), so it must be
    /// asked for with `force`.
    public static func clashing(_ vips: some Sequence<VIPKey>, own: Set<IPAddress>) -> [VIPKey] {
        vips.filter { own.contains($0.address) }.sorted()
    }

    private static func address(_ socketAddress: UnsafeMutablePointer<sockaddr>) -> IPAddress? {
        switch Int32(socketAddress.pointee.sa_family) {
        case AF_INET:
            return socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin_addr) { IPAddress(bytes: $0) }
            }
        case AF_INET6:
            return socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { IPAddress(bytes: $0) }
            }
        default:
            return nil
        }
    }
}
