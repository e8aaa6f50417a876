import Maglev
import TestSupport

/// The identity the control plane uses for an IPv4 backend: ::ffff:a.b.c.d.
func ipv4Identity(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> [UInt8] {
    Array(repeating: 0, count: 10) + [0xff, 0xff, a, b, c, d]
}

/// ::ffff:10.x.y.z for backend number `index`.
func identity(_ index: Int) -> [UInt8] {
    ipv4Identity(10, UInt8(index >> 16 & 0xff), UInt8(index >> 8 & 0xff), UInt8(index & 0xff))
}

func backend(_ index: Int, weight: Int = 1) -> MaglevBackend {
    try! MaglevBackend(id: identity(index), weight: weight)
}

func equalBackends(_ count: Int) -> [MaglevBackend] {
    (0..<count).map { backend($0) }
}

/// Each slot's backend identity (nil for an empty table): what a ring holds.
func identities(_ table: MaglevTable) -> [[UInt8]?] {
    (0..<table.size).map { table.backend(atSlot: $0)?.id }
}
