import CLibbpf
import Glibc

/// Where an XDP program runs.
public enum XDPMode: String, Sendable, Equatable, CustomStringConvertible {
    /// In the driver (XDP_FLAGS_DRV_MODE): before any socket buffer exists. The fast one.
    case native
    /// In the generic network stack (XDP_FLAGS_SKB_MODE): works on every device, slower.
    case generic
    /// Native if the driver supports it, generic otherwise. Only a request: `attach`
    /// returns the mode actually used.
    case auto

    public var description: String { rawValue }
}

/// The XDP program attached to an interface.
public struct XDPAttachment: Sendable, Equatable {
    public let programID: UInt32
    public let programName: String
    /// `.native` or `.generic`.
    public let mode: XDPMode
}

/// XDP attachment through netlink (`bpf_xdp_attach`), not through a bpf_link: a netlink
/// attachment belongs to the interface and survives the daemon's exit, which is what
/// makes a restart hitless (the adopted program keeps running meanwhile).
public enum XDP {
    /// The index of the interface called `name`; `.unknownInterface` if there is none.
    public static func interfaceIndex(_ name: String) throws -> UInt32 {
        guard !name.isEmpty, name.utf8.count < Int(IF_NAMESIZE) else {
            throw DatapathError(kind: .unknownInterface, operation: "look up interface \"\(name)\"",
                                message: "not a valid interface name")
        }
        let index = if_nametoindex(name)
        guard index != 0 else {
            let err = currentErrno()
            throw DatapathError(kind: .unknownInterface, operation: "look up interface \"\(name)\"",
                                errno: err, message: "no such interface (\(libbpfErrorText(err)))")
        }
        return index
    }

    /// The native or generic XDP program on `interface`, nil if none. (Offloaded
    /// programs are not reported: lbd never offloads.)
    public static func attachedProgram(interface: String) throws -> XDPAttachment? {
        try attachedProgram(ifindex: interfaceIndex(interface), interface: interface)
    }

    static func attachedProgram(ifindex: UInt32, interface: String) throws -> XDPAttachment? {
        let opts = LibbpfOptions<bpf_xdp_query_opts>()
        try check(bpf_xdp_query(Int32(bitPattern: ifindex), 0, opts.pointer), "query the XDP program of \(interface)")
        let id: UInt32
        let mode: XDPMode
        if opts.drv_prog_id != 0 {
            (id, mode) = (opts.drv_prog_id, .native)
        } else if opts.skb_prog_id != 0 {
            (id, mode) = (opts.skb_prog_id, .generic)
        } else {
            return nil
        }
        // The name tells our program (any version) from someone else's. A program
        // replaced in the meantime has no name to read: report it nameless.
        var name = ""
        let fd = bpf_prog_get_fd_by_id(id)
        if fd >= 0, let owned = try? FileDescriptor(owning: fd),
           let info = try? ProgramInfo(fd: owned.raw, what: "program \(id)") {
            name = info.name
        }
        return XDPAttachment(programID: id, programName: name, mode: mode)
    }

    static func flags(_ mode: XDPMode) -> UInt32 {
        switch mode {
        case .native: return UInt32(XDP_FLAGS_DRV_MODE)
        case .generic: return UInt32(XDP_FLAGS_SKB_MODE)
        case .auto: return 0
        }
    }
}

extension BPFProgram {
    /// Attaches this XDP program to `interface` and returns the mode it runs in.
    ///
    /// - Nothing attached: `.native` / `.generic` attach in that mode; `.auto` tries
    ///   native, and on failure logs the reason and attaches generic. The attach uses
    ///   XDP_FLAGS_UPDATE_IF_NOEXIST, so a program attached meanwhile by someone else is
    ///   never overwritten.
    /// - This program already attached (adopted datapath): nothing to do, unless an
    ///   explicit other mode is asked for.
    /// - Another version of this program (same name) attached: replaced atomically
    ///   (XDP_FLAGS_REPLACE with the old program as expected), no packet sees neither.
    ///   `.auto` keeps the current mode; an explicit different mode must detach first,
    ///   which is logged, since packets pass unbalanced for that instant.
    /// - A program with another name attached: `.foreignProgram`; lbd never removes
    ///   programs it does not own.
    @discardableResult
    public func attachXDP(interface: String, mode: XDPMode = .auto,
                          log: (String) -> Void = { _ in }) throws -> XDPMode {
        let ifindex = try XDP.interfaceIndex(interface)
        let operation = "attach XDP program \(name) to \(interface)"
        let index = Int32(bitPattern: ifindex)

        if let current = try XDP.attachedProgram(ifindex: ifindex, interface: interface) {
            if current.programID == id, mode == .auto || mode == current.mode { return current.mode }
            guard current.programID == id || current.programName == name else {
                throw DatapathError(
                    kind: .foreignProgram, operation: operation,
                    message: "\(interface) already runs XDP program \(current.programID) "
                        + "(\"\(current.programName)\", \(current.mode)); detach it first")
            }
            let oldFD = bpf_prog_get_fd_by_id(current.programID)
            try check(oldFD, "open the XDP program \(current.programID) attached to \(interface)")
            let old = try FileDescriptor(owning: oldFD)
            let opts = LibbpfOptions<bpf_xdp_attach_opts>()
            opts.old_prog_fd = old.raw
            let target = mode == .auto ? current.mode : mode
            if target == current.mode {
                try check(bpf_xdp_attach(index, fd.raw, XDP.flags(target) | UInt32(XDP_FLAGS_REPLACE), opts.pointer),
                          operation + " (replacing program \(current.programID))")
                return target
            }
            log("XDP on \(interface): switching from \(current.mode) to \(target) mode needs a detach; "
                + "packets bypass the balancer until the attach completes")
            try check(bpf_xdp_detach(index, XDP.flags(current.mode) | UInt32(XDP_FLAGS_REPLACE), opts.pointer),
                      "detach XDP program \(current.programID) from \(interface)")
            do {
                try attachNew(index, target, operation)
            } catch {
                // Put the previous program back rather than leave the interface bare.
                _ = bpf_xdp_attach(index, old.raw, XDP.flags(current.mode) | UInt32(XDP_FLAGS_UPDATE_IF_NOEXIST), nil)
                throw error
            }
            return target
        }

        switch mode {
        case .native, .generic:
            try attachNew(index, mode, operation)
            return mode
        case .auto:
            do {
                try attachNew(index, .native, operation)
                return .native
            } catch let error as DatapathError where error.kind == .system {
                log("XDP on \(interface): native mode failed (\(error.message)); falling back to generic mode")
                try attachNew(index, .generic, operation)
                return .generic
            }
        }
    }

    private func attachNew(_ ifindex: Int32, _ mode: XDPMode, _ operation: String) throws {
        try check(bpf_xdp_attach(ifindex, fd.raw, XDP.flags(mode) | UInt32(XDP_FLAGS_UPDATE_IF_NOEXIST), nil),
                  operation + " in \(mode) mode")
    }

    /// Detaches this program, or another version of it (same name), from `interface`.
    /// Returns false if no XDP program was attached; `.foreignProgram` if someone else's is.
    /// The detach names the program it expects, so it never removes one attached meanwhile.
    @discardableResult
    public func detachXDP(interface: String) throws -> Bool {
        let ifindex = try XDP.interfaceIndex(interface)
        guard let current = try XDP.attachedProgram(ifindex: ifindex, interface: interface) else { return false }
        let operation = "detach XDP program \(current.programID) from \(interface)"
        guard current.programID == id || current.programName == name else {
            throw DatapathError(kind: .foreignProgram, operation: operation,
                                message: "it is \"\(current.programName)\", not \(name): not ours to remove")
        }
        let oldFD = bpf_prog_get_fd_by_id(current.programID)
        try check(oldFD, operation)
        let old = try FileDescriptor(owning: oldFD)
        let opts = LibbpfOptions<bpf_xdp_attach_opts>()
        opts.old_prog_fd = old.raw
        try check(bpf_xdp_detach(Int32(bitPattern: ifindex), XDP.flags(current.mode) | UInt32(XDP_FLAGS_REPLACE), opts.pointer),
                  operation)
        return true
    }
}
