import CBPFObjects
import CLBABI
import CLibbpf

/// The health checks' tunnel (bpf/healthcheck.bpf.c): a tc egress program that
/// encapsulates lbd's marked probes toward the backend the mark names, reading the
/// balancer's `backends` and `config` maps (it writes none).
///
/// Neither pinned nor adopted: it serves lbd's own probes only, so it lives as long as
/// the lbd that loaded it. Its tcx attachment is a link held by this process
/// (`ProbeEncapsulator.Attachment`): closed, or the process gone (a crash included),
/// the kernel detaches it, so a restarted lbd never finds an old one to replace.
public final class ProbeEncapsulator: Sendable {
    public static let programName = "probe_encap"

    public let program: BPFProgram

    /// The socket mark of a probe to the backend at `backendIndex` of the balancer's
    /// `backends` map; nil for an index the mark cannot carry.
    public static func mark(backendIndex: UInt32) -> UInt32? {
        guard backendIndex != 0, backendIndex & LB_PROBE_MARK_MASK == 0 else { return nil }
        return LB_PROBE_MARK_BASE | backendIndex
    }

    /// Loads the program over `balancer`'s maps.
    public init(sharing balancer: BalancerDatapath, objectPath: String? = nil) throws {
        let spec = ObjectSpec(
            objectName: "healthcheck",
            embedded: embeddedObject(lb_healthcheck_object_bytes(), lb_healthcheck_object_size()),
            programs: [Self.programName], maps: [], requiredStructs: ["lb_backend", "lb_config"],
            sharedMaps: ["backends": balancer.backends.fd, "config": balancer.config.fd])
        program = try ObjectLoader.open(spec, objectPath: objectPath, pinDirectory: nil).program(Self.programName)
    }

    /// The program attached at tcx egress of an interface; detached when released.
    public final class Attachment: Sendable {
        public let interface: String
        public let interfaceIndex: UInt32
        private let link: FileDescriptor

        fileprivate init(interface: String, interfaceIndex: UInt32, link: FileDescriptor) {
            self.interface = interface
            self.interfaceIndex = interfaceIndex
            self.link = link
        }
    }

    /// Attaches the program to `interface`'s egress (tcx, beside any other tc program).
    public func attachEgress(interface: String) throws -> Attachment {
        let ifindex = try XDP.interfaceIndex(interface)
        let fd = bpf_link_create(program.rawFD, Int32(bitPattern: ifindex), Self.tcxEgress, nil)
        try check(fd, "attach \(Self.programName) to the egress of \(interface) (tcx)")
        return Attachment(interface: interface, interfaceIndex: ifindex, link: try FileDescriptor(owning: fd))
    }

    /// BPF_TCX_EGRESS (Linux 6.6): the UAPI headers this builds against predate it.
    private static let tcxEgress = bpf_attach_type(rawValue: 47)
}
