import CBPFObjects
import CLBABI
import CLibbpf
import Glibc

/// The health checks' tunnel (bpf/healthcheck.bpf.c): a tc egress program that
/// encapsulates lbd's marked probes toward the backend the mark names, reading the
/// balancer's `backends` and `config` maps (it writes none).
///
/// Neither pinned nor adopted: it serves lbd's own probes only, so it lives as long as
/// the lbd that loaded it. On Linux 6.6 and later its tcx attachment is a link held by
/// this process (`ProbeEncapsulator.Attachment`): closed, or the process gone (a crash
/// included), the kernel detaches it. Older kernels get a classic clsact filter at a
/// fixed handle and priority: released, lbd deletes it; left by a crash, the next lbd
/// replaces it in place.
public final class ProbeEncapsulator: Sendable {
    public static let programName = "probe_encap"

    public let program: BPFProgram

    /// How the program hangs on an interface's egress.
    public enum Hook: String, Sendable {
        /// A tcx link (Linux 6.6+): owned by lbd's process, gone with it.
        case tcx
        /// A clsact qdisc's egress filter (older kernels): replaced by the next lbd.
        case clsact
    }

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

    /// The program attached at an interface's egress; detached when released.
    public final class Attachment: Sendable {
        public let interface: String
        public let interfaceIndex: UInt32
        public let hook: Hook
        /// The tcx link; nil for a clsact filter, which `deinit` deletes.
        private let link: FileDescriptor?

        fileprivate init(interface: String, interfaceIndex: UInt32, hook: Hook, link: FileDescriptor?) {
            self.interface = interface
            self.interfaceIndex = interfaceIndex
            self.hook = hook
            self.link = link
        }

        deinit {
            guard hook == .clsact else { return }
            var hook = ProbeEncapsulator.clsactEgress(interfaceIndex)
            var filter = ProbeEncapsulator.clsactFilter(programFD: 0)
            _ = bpf_tc_detach(&hook, &filter)
        }
    }

    /// Attaches the program to `interface`'s egress, beside any other tc program: with
    /// `hook` nil, tcx where the kernel has it, else a clsact filter.
    public func attachEgress(interface: String, hook: Hook? = nil) throws -> Attachment {
        let ifindex = try XDP.interfaceIndex(interface)
        switch hook {
        case .tcx:
            return try attachTCX(interface: interface, ifindex: ifindex)
        case .clsact:
            return try attachClsact(interface: interface, ifindex: ifindex)
        case nil:
            do {
                return try attachTCX(interface: interface, ifindex: ifindex)
            } catch let error as DatapathError where error.kind == .system && error.errno == EINVAL {
                return try attachClsact(interface: interface, ifindex: ifindex)
            }
        }
    }

    private func attachTCX(interface: String, ifindex: UInt32) throws -> Attachment {
        let fd = bpf_link_create(program.rawFD, Int32(bitPattern: ifindex), Self.tcxEgress, nil)
        try check(fd, "attach \(Self.programName) to the egress of \(interface) (tcx)")
        return Attachment(interface: interface, interfaceIndex: ifindex, hook: .tcx, link: try FileDescriptor(owning: fd))
    }

    private func attachClsact(interface: String, ifindex: UInt32) throws -> Attachment {
        var hook = Self.clsactEgress(ifindex)
        let created = bpf_tc_hook_create(&hook)
        if created != -EEXIST {
            try check(created, "add a clsact qdisc to \(interface)")
        }
        var filter = Self.clsactFilter(programFD: program.rawFD, flags: UInt32(BPF_TC_F_REPLACE.rawValue))
        try check(bpf_tc_attach(&hook, &filter), "attach \(Self.programName) to the egress of \(interface) (clsact)")
        return Attachment(interface: interface, interfaceIndex: ifindex, hook: .clsact, link: nil)
    }

    fileprivate static func clsactEgress(_ ifindex: UInt32) -> bpf_tc_hook {
        var hook = bpf_tc_hook()
        hook.sz = optionsSize(\bpf_tc_hook.parent)
        hook.ifindex = Int32(bitPattern: ifindex)
        hook.attach_point = BPF_TC_EGRESS
        return hook
    }

    /// lbd's filter: one fixed handle and priority, so a later lbd finds and replaces it.
    fileprivate static func clsactFilter(programFD: Int32, flags: UInt32 = 0) -> bpf_tc_opts {
        var opts = bpf_tc_opts()
        opts.sz = optionsSize(\bpf_tc_opts.priority)
        opts.handle = clsactHandle
        opts.priority = clsactPriority
        opts.prog_fd = programFD
        opts.flags = flags
        return opts
    }

    /// libbpf's `sz` of an options struct: up to the end of its last field. Swift does not
    /// copy a struct's tail padding, and libbpf refuses options whose bytes past their
    /// last field (up to `sz`) are not zero.
    private static func optionsSize<Options, Field>(_ lastField: KeyPath<Options, Field>) -> Int {
        MemoryLayout<Options>.offset(of: lastField)! + MemoryLayout<Field>.size
    }

    /// "lbd" in the handle; a priority below the usual 1–49152 of hand-added filters' defaults.
    static let clsactHandle: UInt32 = 0x1bd
    static let clsactPriority: UInt32 = 0x1bd

    /// BPF_TCX_EGRESS (Linux 6.6): the UAPI headers this builds against predate it.
    private static let tcxEgress = bpf_attach_type(rawValue: 47)
}
