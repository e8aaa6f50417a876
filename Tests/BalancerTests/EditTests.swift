@testable import Balancer
import TestSupport
import XCTest

/// Edits apply whole or not at all, with one clear message per reason.
final class EditTests: XCTestCase {
    func testEditsChangeWhatTheySay() throws {
        let state = try sampleState()
        let web = vip("10.0.0.10:80/tcp")

        let added = try state.applying(.addVIP(ServiceSpec(vip: vip("10.0.0.20:80/tcp"))), limits: testLimits)
        XCTAssertEqual(added.services[vip("10.0.0.20:80/tcp")]?.backends, [])
        XCTAssertEqual(added.services.count, 4)

        let removed = try state.applying(.removeVIP(web), limits: testLimits)
        XCTAssertNil(removed.services[web])

        let withBackend = try state.applying(.addBackend(web, backend("192.0.2.13", weight: 7)), limits: testLimits)
        XCTAssertEqual(withBackend.services[web]?.backends.map(\.address.description), ["192.0.2.11", "192.0.2.12", "192.0.2.13"])
        XCTAssertEqual(withBackend.services[web]?.backend(ip("192.0.2.13"))?.weight, 7)

        let withoutBackend = try state.applying(.removeBackend(web, ip("192.0.2.11")), limits: testLimits)
        XCTAssertEqual(withoutBackend.services[web]?.backends, [backend("192.0.2.12")])

        let weighted = try state.applying(.setWeight(web, ip("192.0.2.12"), weight: 0), limits: testLimits)
        XCTAssertEqual(weighted.services[web]?.backend(ip("192.0.2.12"))?.weight, 0)

        let drainedHere = try state.applying(.drain(ip("192.0.2.11"), vip: web), limits: testLimits)
        XCTAssertEqual(drainedHere.services[web]?.backend(ip("192.0.2.11"))?.drained, true)
        XCTAssertEqual(drainedHere.services[vip("10.0.0.10:53/udp")]?.backend(ip("192.0.2.11"))?.drained, false)

        let drainedEverywhere = try state.applying(.drain(ip("192.0.2.11"), vip: nil), limits: testLimits)
        XCTAssertEqual(drainedEverywhere.services.values.compactMap { $0.backend(ip("192.0.2.11"))?.drained }, [true, true])
        let undrained = try drainedEverywhere.applying(.undrain(ip("192.0.2.11"), vip: nil), limits: testLimits)
        XCTAssertEqual(undrained, state)

        let replaced = try state.applying(.replaceServices([ServiceSpec(vip: web, backends: [backend("192.0.2.20")])]),
                                          limits: testLimits)
        XCTAssertEqual(replaced.sortedServices, [ServiceSpec(vip: web, backends: [backend("192.0.2.20")])])
        XCTAssertEqual(try state.applying(.replaceServices([]), limits: testLimits), DesiredState())
    }

    /// Retried requests are harmless: draining a drained backend, setting the weight it
    /// has, changes nothing.
    func testRepeatedEditsAreNoOps() throws {
        let state = try sampleState()
        let drained = try state.applying(.drain(ip("192.0.2.12"), vip: nil), limits: testLimits)
        XCTAssertEqual(try drained.applying(.drain(ip("192.0.2.12"), vip: nil), limits: testLimits), drained)
        XCTAssertEqual(try state.applying(.setWeight(vip("10.0.0.10:80/tcp"), ip("192.0.2.11"), weight: 100),
                                          limits: testLimits), state)
        // Adding what is there exactly so; with other settings it is refused (invalidEdits).
        let service = try XCTUnwrap(state.services[vip("10.0.0.10:80/tcp")])
        XCTAssertEqual(try state.applying(.addVIP(service), limits: testLimits), state)
        XCTAssertEqual(try state.applying(.addBackend(service.vip, service.backends[0]), limits: testLimits), state)
    }

    /// The version digests the services: equal states have it, any change moves it.
    func testTheVersionFollowsTheServicesOnly() throws {
        let state = try sampleState()
        let version = state.version()
        XCTAssertEqual(version.count, 16)
        XCTAssertTrue(version.allSatisfy(\.isHexDigit), version)
        XCTAssertEqual(try sampleState().version(), version)
        let drained = try state.applying(.drain(ip("192.0.2.12"), vip: nil), limits: testLimits)
        XCTAssertNotEqual(drained.version(), version)
        let undrained = try drained.applying(.undrain(ip("192.0.2.12"), vip: nil), limits: testLimits)
        // One cache across versions, as lbd's coordinator keeps it: still the digest of the services.
        let cache = EncodedServices()
        XCTAssertEqual([state, drained, undrained].map { $0.version(reusing: cache) }, [version, drained.version(), version])
    }

    /// (edit, limits, message): each refused with exactly this message.
    static let invalidEdits: [(Edit, Limits, String)] = [
        (.addVIP(ServiceSpec(vip: vip("10.0.0.10:80/tcp"))), testLimits, "VIP 10.0.0.10:80/tcp already exists"),
        (.addVIP(ServiceSpec(vip: vip("[2001:db8::20]:80/tcp"), backends: [backend("192.0.2.11")])), testLimits,
         "VIP [2001:db8::20]:80/tcp: backend 192.0.2.11 is IPv4; an IPv6 VIP needs IPv6 backends (the datapath has no 6-in-4)"),
        (.addVIP(ServiceSpec(vip: vip("10.0.0.20:80/tcp"), udpIdleTimeout: .seconds(5))), testLimits,
         "VIP 10.0.0.20:80/tcp: udp_idle_timeout applies to UDP VIPs only"),
        (.addVIP(ServiceSpec(vip: vip("10.0.0.20:53/udp"), udpIdleTimeout: .milliseconds(1500))), testLimits,
         "VIP 10.0.0.20:53/udp: udp_idle_timeout 1500ms must be whole seconds from 1s to 24h"),
        (.addVIP(ServiceSpec(vip: vip("10.0.0.20:53/udp"), udpIdleTimeout: .seconds(86_401))), testLimits,
         "VIP 10.0.0.20:53/udp: udp_idle_timeout 86401s must be whole seconds from 1s to 24h"),
        (.addVIP(ServiceSpec(vip: vip("10.0.0.20:80/tcp"), backends: [backend("192.0.2.1"), backend("192.0.2.1")])), testLimits,
         "VIP 10.0.0.20:80/tcp: backend 192.0.2.1 is listed more than once"),
        (.addVIP(ServiceSpec(vip: vip("10.0.0.20:80/tcp"), backends: [backend("192.0.2.1", weight: 65536)])), testLimits,
         "VIP 10.0.0.20:80/tcp: backend 192.0.2.1 has weight 65536; weights are 0...65535"),
        (.addVIP(ServiceSpec(vip: vip("0.0.0.0:80/tcp"))), testLimits,
         "VIP 0.0.0.0:80/tcp: 0.0.0.0 is the unspecified address; a VIP needs a unicast address"),
        (.addVIP(ServiceSpec(vip: vip("[ff02::1]:80/udp"))), testLimits,
         "VIP [ff02::1]:80/udp: ff02::1 is a multicast address; a VIP needs a unicast address"),
        (.addVIP(ServiceSpec(vip: vip("10.0.0.20:80/tcp"))), Limits(maxVIPs: 3, ringSize: 1009),
         "4 VIPs exceed limits.max_vips 3"),
        (.addVIP(ServiceSpec(vip: vip("192.0.2.11:80/tcp"))), testLimits,
         "VIP 10.0.0.10:53/udp: backend 192.0.2.11 is a VIP address; its packets would loop back to the balancer\n"
            + "VIP 10.0.0.10:80/tcp: backend 192.0.2.11 is a VIP address; its packets would loop back to the balancer"),
        (.removeVIP(vip("10.0.0.99:80/tcp")), testLimits, "no VIP 10.0.0.99:80/tcp"),
        (.removeVIP(vip("10.0.0.10:80/udp")), testLimits, "no VIP 10.0.0.10:80/udp"),
        (.addBackend(vip("10.0.0.99:80/tcp"), backend("192.0.2.1")), testLimits, "no VIP 10.0.0.99:80/tcp"),
        (.addBackend(vip("10.0.0.10:80/tcp"), backend("192.0.2.12", weight: 5)), testLimits,
         "VIP 10.0.0.10:80/tcp already has backend 192.0.2.12"),
        (.addBackend(vip("[2001:db8::10]:443/tcp"), backend("192.0.2.12")), testLimits,
         "VIP [2001:db8::10]:443/tcp: backend 192.0.2.12 is IPv4; an IPv6 VIP needs IPv6 backends (the datapath has no 6-in-4)"),
        (.addBackend(vip("10.0.0.10:80/tcp"), backend("192.0.2.13", weight: -1)), testLimits,
         "VIP 10.0.0.10:80/tcp: backend 192.0.2.13 has weight -1; weights are 0...65535"),
        (.addBackend(vip("10.0.0.10:80/tcp"), backend("192.0.2.13")), Limits(maxBackends: 3, ringSize: 1009),
         "4 distinct backend addresses exceed limits.max_backends 3"),
        (.addBackend(vip("10.0.0.10:80/tcp"), backend("127.0.0.1")), testLimits,
         "VIP 10.0.0.10:80/tcp: backend 127.0.0.1 is a loopback address; a backend needs a unicast address"),
        (.addBackend(vip("10.0.0.10:80/tcp"), backend("::")), testLimits,
         "VIP 10.0.0.10:80/tcp: backend :: is the unspecified address; a backend needs a unicast address"),
        (.addBackend(vip("10.0.0.10:80/tcp"), backend("10.0.0.10")), testLimits,
         "VIP 10.0.0.10:80/tcp: backend 10.0.0.10 is a VIP address; its packets would loop back to the balancer"),
        (.addBackend(vip("10.0.0.10:80/tcp"), backend("192.0.2.13")), Limits(ringSize: 211),
         "VIP 10.0.0.10:80/tcp: table size 211 is too small for 3 backends; it must be at least 300 "
            + "(smallest prime: 307); raise limits.ring_size"),
        (.addBackend(vip("10.0.0.10:80/tcp"), backend("2001:db8::12")), Limits(ringSize: 1009, backendFamilies: [.v4]),
         "VIP 10.0.0.10:80/tcp: backend 2001:db8::12 is IPv6 but encap_source_v6 is not configured\n"
            + "VIP [2001:db8::10]:443/tcp: backend 2001:db8::11 is IPv6 but encap_source_v6 is not configured"),
        (.removeBackend(vip("10.0.0.99:80/tcp"), ip("192.0.2.11")), testLimits, "no VIP 10.0.0.99:80/tcp"),
        (.removeBackend(vip("10.0.0.10:80/tcp"), ip("192.0.2.99")), testLimits, "VIP 10.0.0.10:80/tcp has no backend 192.0.2.99"),
        (.setWeight(vip("10.0.0.10:80/tcp"), ip("192.0.2.11"), weight: -5), testLimits,
         "VIP 10.0.0.10:80/tcp: backend 192.0.2.11 has weight -5; weights are 0...65535"),
        (.setWeight(vip("10.0.0.10:80/tcp"), ip("192.0.2.11"), weight: 100_000), testLimits,
         "VIP 10.0.0.10:80/tcp: backend 192.0.2.11 has weight 100000; weights are 0...65535"),
        (.setWeight(vip("10.0.0.10:80/tcp"), ip("2001:db8::11"), weight: 5), testLimits,
         "VIP 10.0.0.10:80/tcp has no backend 2001:db8::11"),
        (.setWeight(vip("10.0.0.11:80/tcp"), ip("192.0.2.11"), weight: 5), testLimits, "no VIP 10.0.0.11:80/tcp"),
        (.drain(ip("192.0.2.99"), vip: nil), testLimits, "192.0.2.99 is not a backend of any VIP"),
        (.drain(ip("192.0.2.12"), vip: vip("10.0.0.10:53/udp")), testLimits, "VIP 10.0.0.10:53/udp has no backend 192.0.2.12"),
        (.undrain(ip("192.0.2.99"), vip: nil), testLimits, "192.0.2.99 is not a backend of any VIP"),
        (.undrain(ip("192.0.2.11"), vip: vip("10.0.0.99:80/tcp")), testLimits, "no VIP 10.0.0.99:80/tcp"),
        (.replaceServices([ServiceSpec(vip: vip("10.0.0.10:80/tcp")), ServiceSpec(vip: vip("10.0.0.10:80/tcp"))]), testLimits,
         "VIP 10.0.0.10:80/tcp is defined more than once"),
        (.replaceServices([ServiceSpec(vip: vip("10.0.0.10:80/tcp"), udpIdleTimeout: .seconds(1),
                                       backends: [backend("192.0.2.1", weight: 70000)]),
                           ServiceSpec(vip: vip("[2001:db8::1]:80/tcp"), backends: [backend("192.0.2.2")])]), testLimits,
         "VIP 10.0.0.10:80/tcp: udp_idle_timeout applies to UDP VIPs only\n"
            + "VIP 10.0.0.10:80/tcp: backend 192.0.2.1 has weight 70000; weights are 0...65535\n"
            + "VIP [2001:db8::1]:80/tcp: backend 192.0.2.2 is IPv4; an IPv6 VIP needs IPv6 backends (the datapath has no 6-in-4)"),
        (.replaceServices((1...3).map { ServiceSpec(vip: vip("10.0.1.\($0):80/tcp")) }), Limits(maxVIPs: 2, ringSize: 1009),
         "3 VIPs exceed limits.max_vips 2"),
    ]

    func testInvalidEditsAreRefusedWithAClearMessageAndChangeNothing() throws {
        XCTAssertGreaterThanOrEqual(Self.invalidEdits.count, 35)
        for (edit, limits, message) in Self.invalidEdits {
            let state = try sampleState()
            let before = state.jsonData()
            XCTAssertThrowsError(try state.applying(edit, limits: limits), "\(edit)") { error in
                XCTAssertEqual("\(error)", message, "\(edit)")
            }
            XCTAssertEqual(state.jsonData(), before, "\(edit)")
        }
    }

    func testPlanRendering() throws {
        let state = try sampleState()
        let web = vip("10.0.0.10:80/tcp")
        var target = try state.applying(.removeVIP(vip("[2001:db8::10]:443/tcp")), limits: testLimits)
        target = try target.applying(.addVIP(ServiceSpec(vip: vip("10.0.0.11:53/udp"), udpIdleTimeout: .seconds(60),
                                                         backends: [backend("192.0.2.22", drained: true),
                                                                    backend("192.0.2.21", weight: 10)])),
                                     limits: testLimits)
        target = try target.applying(.removeBackend(web, ip("192.0.2.12")), limits: testLimits)
        target = try target.applying(.addBackend(web, backend("192.0.2.13")), limits: testLimits)
        target = try target.applying(.setWeight(web, ip("192.0.2.11"), weight: 50), limits: testLimits)
        target = try target.applying(.drain(ip("192.0.2.11"), vip: web), limits: testLimits)
        var dns = try XCTUnwrap(target.services[vip("10.0.0.10:53/udp")])
        dns.hash = .fiveTuple
        dns.udpIdleTimeout = nil
        target = try target.applying(.replaceServices(target.sortedServices.filter { $0.vip != dns.vip } + [dns]),
                                     limits: testLimits)
        let plan = state.plan(to: target)
        XCTAssertEqual(plan.added.map(\.vip), [vip("10.0.0.11:53/udp")])
        XCTAssertEqual(plan.removed.map(\.vip), [vip("[2001:db8::10]:443/tcp")])
        XCTAssertEqual(plan.changed.map(\.vip), [vip("10.0.0.10:53/udp"), web])
        XCTAssertEqual(plan.description, """
            + 10.0.0.11:53/udp hash 5tuple udp_idle_timeout 1m
                + 192.0.2.21 weight 10
                + 192.0.2.22 weight 100, drained
            - [2001:db8::10]:443/tcp (1 backend)
            ~ 10.0.0.10:53/udp
                hash source -> 5tuple
                udp_idle_timeout 10s -> default
            ~ 10.0.0.10:80/tcp
                + 192.0.2.13 weight 100
                - 192.0.2.12
                ~ 192.0.2.11 weight 100 -> 50, drained
            1 VIP added, 1 removed, 2 changed
            """)
        XCTAssertEqual(target.plan(to: state).description.split(separator: "\n").last, "1 VIP added, 1 removed, 2 changed")
    }

    func testPlanOfNothingAndOfReorderedBackends() throws {
        let state = try sampleState()
        XCTAssertTrue(state.plan(to: state).isEmpty)
        XCTAssertEqual(state.plan(to: state).description, "no changes")
        let reordered = try state.applying(.replaceServices(state.sortedServices.map {
            var service = $0
            service.backends.reverse()
            return service
        }), limits: testLimits)
        XCTAssertNotEqual(reordered, state)
        XCTAssertTrue(state.plan(to: reordered).isEmpty, "the ring depends on the set of backends only")
    }

    /// An edit of one service's backends is validated by checking that service and the
    /// totals only; over random states and edits, that finds exactly what validating the
    /// whole state finds (the same state, not known to be valid under these limits).
    func testOneServiceValidationFindsWhatTheWholeValidationFinds() throws {
        let limits = Limits(maxVIPs: 4, maxBackends: 6, ringSize: 1009, connectionTable: 1000, backendFamilies: [.v4, .v6])
        let unrelated = Limits(maxVIPs: 4, maxBackends: 6, ringSize: 1009, connectionTable: 999, backendFamilies: [.v4, .v6])
        var random = SplitMix64(seed: 3)
        let vips = ["10.0.0.1:80/tcp", "10.0.0.2:80/tcp", "[2001:db8::1]:80/tcp"].map(vip)
        let addresses = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6", "192.0.2.7",
                         "2001:db8::a", "2001:db8::b", "10.0.0.1", "127.0.0.1"].map(ip)
        var state = try DesiredState(validating: vips.map { ServiceSpec(vip: $0) }, limits: limits)
        var checked = 0
        for step in 0..<3_000 {
            let target = vips.randomElement(using: &random)!
            let address = addresses.randomElement(using: &random)!
            let weight = [0, 1, 100, 65_535, 65_536, -1].randomElement(using: &random)!
            let edit = [Edit.addBackend(target, BackendSpec(address: address, weight: weight)),
                        .removeBackend(target, address), .setWeight(target, address, weight: weight),
                        .drain(address, vip: target), .undrain(address, vip: target)].randomElement(using: &random)!
            let whole = try DesiredState(validating: state.sortedServices, limits: unrelated)
            let fast = Result { () throws(EditError) in try state.applying(edit, limits: limits) }
            let slow = Result { () throws(EditError) in try whole.applying(edit, limits: limits) }
            switch (fast, slow) {
            case (.success(let a), .success(let b)):
                XCTAssertEqual(a, b, "step \(step): \(edit)")
                state = a
            case (.failure(let a), .failure(let b)):
                XCTAssertEqual(a, b, "step \(step): \(edit)")
                if case .invalid = a { checked += 1 }
            default:
                XCTFail("step \(step): \(edit): \(fast) / \(slow)")
            }
        }
        XCTAssertGreaterThan(checked, 300, "the random edits reach the validation's refusals")
    }
}
