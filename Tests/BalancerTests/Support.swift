@testable import Balancer
import XCTest
import TestSupport

/// Values for tests; the literals are valid, so a failure to parse is a test bug.
func ip(_ text: String) -> IPAddress {
    do { return try IPAddress(text) } catch { fatalError("\(error)") }
}

func vip(_ text: String) -> VIPKey {
    do { return try VIPKey(text) } catch { fatalError("\(error)") }
}

func backend(_ address: String, weight: Int = BackendSpec.defaultWeight, drained: Bool = false) -> BackendSpec {
    BackendSpec(address: ip(address), weight: weight, drained: drained)
}

/// Small rings keep table builds and the fake's checks fast: 1009 is prime and fits 10 backends.
let testLimits = Limits(maxVIPs: 8, maxBackends: 8, ringSize: 1009, connectionTable: 1000)

/// Three services: two on one IPv4 address sharing a backend, one IPv6.
func sampleState(limits: Limits = testLimits) throws -> DesiredState {
    try DesiredState(validating: [
        ServiceSpec(vip: vip("10.0.0.10:80/tcp"), backends: [backend("192.0.2.11"), backend("192.0.2.12")]),
        ServiceSpec(vip: vip("10.0.0.10:53/udp"), hash: .source, udpIdleTimeout: .seconds(10),
                    backends: [backend("192.0.2.11", weight: 50)]),
        ServiceSpec(vip: vip("[2001:db8::10]:443/tcp"), backends: [backend("2001:db8::11")]),
    ], limits: limits)
}

