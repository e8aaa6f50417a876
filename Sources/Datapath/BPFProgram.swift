import CLibbpf
import Glibc

/// What one `BPF_PROG_TEST_RUN` returned.
public struct TestRunResult: Sendable, Equatable {
    /// The program's return value (for XDP: XDP_ABORTED 0, DROP 1, PASS 2, TX 3, REDIRECT 4).
    public let action: UInt32
    /// The frame as the program left it (encapsulated, rewritten, ...).
    public let output: [UInt8]
    /// Average run time per repetition, in nanoseconds, as measured by the kernel.
    public let durationNs: UInt32
}

/// A loaded BPF program, held by descriptor (it stays loaded while pinned or attached).
public final class BPFProgram: Sendable {
    /// The kernel's name (at most 15 characters of the C function name).
    public let name: String
    /// The kernel's id (`bpftool prog show id N`, and what `bpf_xdp_query` reports).
    public let id: UInt32
    let fd: FileDescriptor

    /// The program's descriptor, owned by this handle (valid while it lives): what a
    /// PROG_ARRAY update or an attach takes.
    public var rawFD: Int32 { fd.raw }

    init(fd: FileDescriptor, what: String) throws {
        let info = try ProgramInfo(fd: fd.raw, what: what)
        self.fd = fd
        name = info.name
        id = info.id
    }

    /// Runs the program once per repetition on `frame` in the kernel (`bpf_prog_test_run_opts`)
    /// without any network device: the frame goes in as received, the result says what
    /// the program did with it. Map side effects (counters, connection entries) are real.
    ///
    /// For XDP the kernel runs the repetitions on the same buffer, so a program that
    /// grows the frame (encapsulation) sees its own output again from the second run on;
    /// use `repeat` > 1 only with programs that restore the frame (the bench wrapper).
    ///
    /// `skbMark`: for a tc program, the socket buffer's mark (`__sk_buff.mark`).
    public func testRun(frame: [UInt8], repeat repetitions: UInt32 = 1, skbMark: UInt32? = nil) throws -> TestRunResult {
        let operation = "test-run program \(name)"
        guard !frame.isEmpty, frame.count <= Int(UInt32.max) else {
            throw DatapathError.invalid(operation, "frame of \(frame.count) bytes")
        }
        guard repetitions >= 1, repetitions <= UInt32(Int32.max) else {
            throw DatapathError.invalid(operation, "repeat must be between 1 and \(Int32.max)")
        }
        // Room for whatever the program prepends (encapsulation, ICMP errors); the
        // kernel reports the size it needed if that is not enough, and we retry once.
        var capacity = frame.count + 256
        for attempt in 0..<2 {
            var output = [UInt8](repeating: 0, count: capacity)
            let opts = LibbpfOptions<bpf_test_run_opts>()
            opts.data_size_in = UInt32(frame.count)
            opts.data_size_out = UInt32(capacity)
            opts.repeat = Int32(repetitions)
            var context = __sk_buff()
            context.mark = skbMark ?? 0
            let result = frame.withUnsafeBytes { input in
                output.withUnsafeMutableBytes { out in
                    withUnsafeMutableBytes(of: &context) { skb in
                        opts.data_in = input.baseAddress
                        opts.data_out = out.baseAddress
                        if skbMark != nil {
                            opts.ctx_in = UnsafeRawPointer(skb.baseAddress)
                            opts.ctx_size_in = UInt32(skb.count)
                        }
                        return bpf_prog_test_run_opts(fd.raw, opts.pointer)
                    }
                }
            }
            if result == -ENOSPC, attempt == 0, Int(opts.data_size_out) > capacity {
                capacity = Int(opts.data_size_out)
                continue
            }
            try check(result, operation)
            return TestRunResult(action: opts.retval, output: Array(output.prefix(Int(opts.data_size_out))),
                                 durationNs: opts.duration)
        }
        throw DatapathError.system(operation, code: -ENOSPC)
    }
}

/// What one live-frames `BPF_PROG_TEST_RUN` took.
public struct LiveRunResult: Sendable, Equatable {
    /// The kernel's average time per repetition, in nanoseconds (frames sent included:
    /// the transmit and the receiving veth's NAPI run on this CPU within the batches).
    public let kernelNsPerFrame: UInt32
    /// Wall-clock time of the whole call, in nanoseconds.
    public let wallNs: UInt64
}

extension BPFProgram {
    /// Runs this XDP program `repetitions` times with BPF_F_TEST_XDP_LIVE_FRAMES: the kernel
    /// builds real frames from `frame` as if received on `ingressIfindex` (queue 0) and
    /// carries out what the program returns — XDP_TX and XDP_REDIRECT transmit for real,
    /// XDP_PASS hands the frame to the stack. A packet generator on the current CPU.
    ///
    /// The interface is looked up in the calling thread's network namespace. Pages are
    /// recycled between batches with whatever the previous run left in them (only the
    /// data pointers are reset), so the program must rewrite the frame each run (the
    /// bench wrapper does). No output comes back; count what arrives on the far end.
    public func testRunLive(frame: [UInt8], repeat repetitions: UInt32, ingressIfindex: UInt32,
                            batchSize: UInt32 = 0) throws -> LiveRunResult {
        let operation = "live-frames test-run of program \(name)"
        guard !frame.isEmpty, frame.count <= 3500 else {
            throw DatapathError.invalid(operation, "frame of \(frame.count) bytes")
        }
        guard repetitions >= 1, repetitions <= UInt32(Int32.max), ingressIfindex > 0 else {
            throw DatapathError.invalid(operation, "repeat \(repetitions), ingress interface index \(ingressIfindex)")
        }
        var context = xdp_md()
        context.data = 0
        context.data_end = UInt32(frame.count)
        context.ingress_ifindex = ingressIfindex
        context.rx_queue_index = 0
        let opts = LibbpfOptions<bpf_test_run_opts>()
        opts.data_size_in = UInt32(frame.count)
        opts.ctx_size_in = UInt32(MemoryLayout<xdp_md>.size)
        opts.repeat = Int32(repetitions)
        opts.flags = UInt32(BPF_F_TEST_XDP_LIVE_FRAMES)
        opts.batch_size = batchSize
        var start = timespec(), end = timespec()
        let result = frame.withUnsafeBytes { input in
            withUnsafeMutablePointer(to: &context) { ctx in
                opts.data_in = input.baseAddress
                opts.ctx_in = UnsafeRawPointer(ctx)
                clock_gettime(CLOCK_MONOTONIC, &start)
                let result = bpf_prog_test_run_opts(fd.raw, opts.pointer)
                clock_gettime(CLOCK_MONOTONIC, &end)
                return result
            }
        }
        try check(result, operation)
        let wall = (Int64(end.tv_sec) - Int64(start.tv_sec)) * 1_000_000_000 + (Int64(end.tv_nsec) - Int64(start.tv_nsec))
        return LiveRunResult(kernelNsPerFrame: opts.duration, wallNs: UInt64(max(wall, 0)))
    }
}
