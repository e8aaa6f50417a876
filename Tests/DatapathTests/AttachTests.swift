import CLBABI
import Datapath
import Foundation
import TestSupport
import XCTest

/// glibc's setns(2); Swift's Glibc module hides it behind _GNU_SOURCE.
@_silgen_name("setns") private func setns(_ fd: Int32, _ nstype: Int32) -> Int32
private let CLONE_NEWNET: Int32 = 0x4000_0000

/// Runs `body` with this thread inside the network namespace `name`, then returns.
func inNetworkNamespace<T>(_ name: String, _ body: () throws -> T) throws -> T {
    let original = open("/proc/self/ns/net", O_RDONLY)
    let target = open("/run/netns/\(name)", O_RDONLY)
    defer { close(original); close(target) }
    guard original >= 0, target >= 0, setns(target, CLONE_NEWNET) == 0 else {
        throw NamespaceEntryFailed(description: "setns \(name): \(String(cString: strerror(errno)))")
    }
    defer { _ = setns(original, CLONE_NEWNET) }
    return try body()
}

struct NamespaceEntryFailed: Error, CustomStringConvertible {
    let description: String
}

/// Attaching the balancer and the decapsulator to a veth pair in a namespace.
final class AttachTests: XCTestCase {
    let namespace = uniqueName("lbdt-attach-")

    override func setUpWithError() throws {
        try requireRoot()
        try shell("/bin/sh", "-c", """
            ip netns add \(namespace) && ip -n \(namespace) link add lbd0 type veth peer name lbd1 && \
            ip -n \(namespace) link set lbd0 up && ip -n \(namespace) link set lbd1 up
            """)
    }

    override func tearDown() {
        _ = try? shell("ip", "netns", "del", namespace)
    }

    func testBalancerAttachesNativeAndGenericAndDetaches() throws {
        let pins = uniquePinDirectory("attach")
        defer { _ = try? BalancerDatapath.removePins(pinDirectory: pins) }
        let datapath = try BalancerDatapath.open(pinDirectory: pins, limits: BalancerFixture.limits)
        for mode in [XDPMode.native, .generic] {
            try inNetworkNamespace(namespace) {
                XCTAssertEqual(try datapath.attach(interface: "lbd0", mode: mode), mode)
                let attached = try XDP.attachedProgram(interface: "lbd0")
                XCTAssertEqual(attached?.mode, mode)
                XCTAssertEqual(attached?.programID, datapath.program.id)
            }
            let link = try shell("ip", "-n", namespace, "-d", "link", "show", "lbd0")
            XCTAssertTrue(link.contains(mode == .native ? " xdp qdisc" : " xdpgeneric qdisc"), link)
            XCTAssertTrue(link.contains("prog/xdp id \(datapath.program.id) name balancer"), link)
            try inNetworkNamespace(namespace) {
                XCTAssertTrue(try datapath.detach(interface: "lbd0"))
                XCTAssertNil(try XDP.attachedProgram(interface: "lbd0"))
            }
        }
    }

    func testAutoModePrefersNative() throws {
        let pins = uniquePinDirectory("attach-auto")
        defer { _ = try? BalancerDatapath.removePins(pinDirectory: pins) }
        let datapath = try BalancerDatapath.open(pinDirectory: pins, limits: BalancerFixture.limits)
        try inNetworkNamespace(namespace) {
            XCTAssertEqual(try datapath.attach(interface: "lbd0", mode: .auto), .native)
        }
    }

    /// `auto` where the driver refuses native XDP (a veth whose peer's MTU is too large
    /// for it): generic mode, and the reason heard by the log.
    func testAutoModeFallsBackToGenericWhereNativeFails() throws {
        try shell("ip", "-n", namespace, "link", "set", "lbd1", "mtu", "9000")
        let pins = uniquePinDirectory("attach-fallback")
        defer { _ = try? BalancerDatapath.removePins(pinDirectory: pins) }
        let datapath = try BalancerDatapath.open(pinDirectory: pins, limits: BalancerFixture.limits)
        var logged: [String] = []
        try inNetworkNamespace(namespace) {
            XCTAssertEqual(try datapath.attach(interface: "lbd0", mode: .auto) { logged.append($0) }, .generic)
            XCTAssertEqual(try XDP.attachedProgram(interface: "lbd0")?.mode, .generic)
        }
        XCTAssertEqual(logged.count, 1)
        XCTAssertTrue(logged.first?.contains("native mode failed") == true, "\(logged)")
        XCTAssertTrue(logged.first?.contains("falling back to generic mode") == true, "\(logged)")
        XCTAssertThrowsError(try inNetworkNamespace(namespace) { try datapath.attach(interface: "lbd0", mode: .native) },
                             "native really is refused here")
    }

    func testUnknownInterfaceIsAClearError() throws {
        let pins = uniquePinDirectory("attach-unknown")
        defer { _ = try? BalancerDatapath.removePins(pinDirectory: pins) }
        let datapath = try BalancerDatapath.open(pinDirectory: pins, limits: BalancerFixture.limits)
        XCTAssertThrowsError(try datapath.attach(interface: "lbd-nope", mode: .generic)) { error in
            XCTAssertEqual((error as? DatapathError)?.kind, .unknownInterface, "\(error)")
            XCTAssertTrue("\(error)".hasPrefix("look up interface \"lbd-nope\": no such interface ("), "\(error)")
        }
    }

    func testDecapAttachesToTheBackendSide() throws {
        let pins = uniquePinDirectory("attach-decap")
        defer { _ = try? DecapDatapath.removePins(pinDirectory: pins) }
        let decap = try DecapDatapath.open(pinDirectory: pins)
        try inNetworkNamespace(namespace) {
            XCTAssertEqual(try decap.attach(interface: "lbd1", mode: .generic), .generic)
        }
        let link = try shell("ip", "-n", namespace, "-d", "link", "show", "lbd1")
        XCTAssertTrue(link.contains(" xdpgeneric qdisc") && link.contains("prog/xdp id \(decap.program.id) name decap"), link)
    }
}
