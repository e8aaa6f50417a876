import CBenchObjects
import CLBABI
import Datapath

/// The in-kernel benchmark (bpf/bench/bench.bpf.c): `bench_wrapper` restores the frame template
/// from `bench_frame` (optionally writing a per-run counter into it, so every run is a
/// new flow) and tail-calls `bench_target[0]`, the program under test. Test-running the
/// wrapper with a repeat count then times the target on the same input every run,
/// which a plain repeated test-run cannot do for a program that grows the frame.
/// `bench_noop` as the target measures the harness itself (the baseline to subtract).
/// The same wrapper drives live-frames runs (`BPFProgram.testRunLive`), whose recycled
/// pages keep the previous run's rewrite; `bench_sink` on the far end counts what arrived.
public final class BenchHarness: Sendable {
    public let wrapper: BPFProgram
    /// A program that only returns: the baseline target.
    public let noop: BPFProgram
    /// Counts (per CPU, in `sunk`) and drops every frame: the receiving end of live runs.
    public let sink: BPFProgram
    public let frame: BPFMap<UInt32, lb_bench_frame>
    public let target: BPFMap<UInt32, UInt32>
    public let sunk: BPFMap<UInt32, UInt64>

    /// Loads the harness (never pinned: it is private to one benchmark run).
    public static func load() throws -> BenchHarness {
        try BenchHarness(UnpinnedObject(
            name: "bench", bytes: UnsafeRawBufferPointer(start: lb_bench_object_bytes(), count: Int(lb_bench_object_size())),
            programs: ["bench_wrapper", "bench_noop", "bench_sink"], maps: ["bench_frame", "bench_target", "bench_sunk"],
            requiredStructs: ["lb_bench_frame"]))
    }

    private init(_ loaded: UnpinnedObject) throws {
        wrapper = try loaded.program("bench_wrapper")
        noop = try loaded.program("bench_noop")
        sink = try loaded.program("bench_sink")
        frame = try loaded.map("bench_frame")
        target = try loaded.map("bench_target")
        sunk = try loaded.map("bench_sunk")
    }

    /// The frames `sink` has received, summed across CPUs.
    public func sunkFrames() throws -> UInt64 {
        try sunk.lookupPerCPU(key: 0)?.reduce(0, +) ?? 0
    }

    /// bpf/bench/trivial_encap.bpf.c, unpinned: IPIP to one fixed backend and XDP_TX for
    /// every IPv4 frame, nothing else. The ceiling reference of the live-frames benchmark.
    public static func loadTrivialEncap() throws -> BPFProgram {
        try UnpinnedObject(
            name: "trivial_encap",
            bytes: UnsafeRawBufferPointer(start: lb_trivial_encap_object_bytes(), count: Int(lb_trivial_encap_object_size())),
            programs: ["trivial_encap"], maps: [], requiredStructs: []
        ).program("trivial_encap")
    }

    /// Sets the frame every run starts from. With `varyOffset`, the 4 bytes there get a
    /// per-run counter (e.g. the client port and the next bytes: a new flow per run).
    /// With `varyMask` (2^k − 1) as well, they get the template's bytes XOR (counter &
    /// mask): the runs cycle through mask + 1 flows, bytes outside the mask untouched.
    /// The counter is a little-endian word: mask 0x0000ffff varies the first two bytes.
    /// With `scramble` (and no mask) they get the counter times an odd constant: distinct
    /// per run, spread over every bit; with a mask, each cycle visits the flows in another
    /// order (LB_BENCH_F_SCRAMBLE).
    public func setFrame(_ bytes: [UInt8], varyOffset: UInt32? = nil, varyMask: UInt32 = 0, scramble: Bool = false) throws {
        let operation = "set the benchmark frame"
        guard !bytes.isEmpty, bytes.count <= Int(LB_BENCH_FRAME_MAX) else {
            throw DatapathError.invalid(operation, "\(bytes.count) bytes; 1...\(LB_BENCH_FRAME_MAX) allowed")
        }
        if let varyOffset, Int(varyOffset) + 4 > bytes.count {
            throw DatapathError.invalid(operation, "vary offset \(varyOffset) + 4 exceeds the \(bytes.count)-byte frame")
        }
        var value = lb_bench_frame()
        value.len = UInt32(bytes.count)
        value.flags = varyOffset == nil ? 0 : UInt32(LB_BENCH_F_VARY) | (scramble ? UInt32(LB_BENCH_F_SCRAMBLE) : 0)
        value.vary_offset = varyOffset ?? 0
        value.counter = 0
        value.vary_mask = varyOffset == nil ? 0 : varyMask
        withUnsafeMutableBytes(of: &value.data) { data in
            data.copyBytes(from: bytes)
        }
        try frame.update(key: 0, value: value)
    }

    /// Makes `program` the target of the wrapper's tail call.
    public func setTarget(_ program: BPFProgram) throws {
        try setTarget(programFD: program.rawFD)
    }

    /// Makes the program behind `programFD` the target of the wrapper's tail call.
    public func setTarget(programFD: Int32) throws {
        guard programFD >= 0 else { throw DatapathError.invalid("set the benchmark target", "bad descriptor") }
        try target.update(key: 0, value: UInt32(programFD))
    }

    /// Test-runs the wrapper `repetitions` times on the current frame template; the
    /// result's `durationNs` is the kernel's average per run.
    public func run(repeat repetitions: UInt32) throws -> TestRunResult {
        guard let current = try frame.lookup(key: 0), current.len > 0, current.len <= UInt32(LB_BENCH_FRAME_MAX) else {
            throw DatapathError.invalid("run the benchmark", "no frame set (setFrame first)")
        }
        let template = withUnsafeBytes(of: current.data) { Array($0.prefix(Int(current.len))) }
        return try wrapper.testRun(frame: template, repeat: repetitions)
    }
}
