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
    public func testRun(frame: [UInt8], repeat repetitions: UInt32 = 1) throws -> TestRunResult {
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
            let result = frame.withUnsafeBytes { input in
                output.withUnsafeMutableBytes { out in
                    opts.data_in = input.baseAddress
                    opts.data_out = out.baseAddress
                    return bpf_prog_test_run_opts(fd.raw, opts.pointer)
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
