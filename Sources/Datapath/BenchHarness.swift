import CBPFObjects
import CLBABI
import CLibbpf

/// The in-kernel benchmark (bpf/bench.bpf.c): `bench_wrapper` restores the frame template
/// from `bench_frame` (optionally writing a per-run counter into it, so every run is a
/// new flow) and tail-calls `bench_target[0]`, the program under test. Test-running the
/// wrapper with a repeat count then times the target on the same input every run,
/// which a plain repeated test-run cannot do for a program that grows the frame.
/// `bench_noop` as the target measures the harness itself (the baseline to subtract).
public final class BenchHarness: Sendable {
    public let wrapper: BPFProgram
    /// A program that only returns: the baseline target.
    public let noop: BPFProgram
    public let frame: BPFMap<UInt32, lb_bench_frame>
    public let target: BPFMap<UInt32, UInt32>

    /// Loads the harness (never pinned: it is private to one benchmark run).
    public static func load(objectPath: String? = nil) throws -> BenchHarness {
        let spec = ObjectSpec(
            objectName: "bench",
            embedded: embeddedObject(lb_bench_object_bytes(), lb_bench_object_size()),
            pinnedProgram: nil,
            programs: ["bench_wrapper", "bench_noop"],
            maps: ["bench_frame", "bench_target"],
            requiredStructs: ["lb_bench_frame"],
            rodata: nil)
        return try BenchHarness(ObjectLoader.open(spec, objectPath: objectPath, pinDirectory: nil))
    }

    private init(_ loaded: LoadedObject) throws {
        wrapper = try loaded.program("bench_wrapper")
        noop = try loaded.program("bench_noop")
        frame = try loaded.map("bench_frame")
        target = try loaded.map("bench_target")
    }

    /// Sets the frame every run starts from. With `varyOffset`, the 4 bytes there get a
    /// per-run counter (e.g. the client port and the next bytes: a new flow per run).
    public func setFrame(_ bytes: [UInt8], varyOffset: UInt32? = nil) throws {
        let operation = "set the benchmark frame"
        guard !bytes.isEmpty, bytes.count <= Int(LB_BENCH_FRAME_MAX) else {
            throw DatapathError.invalid(operation, "\(bytes.count) bytes; 1...\(LB_BENCH_FRAME_MAX) allowed")
        }
        if let varyOffset, Int(varyOffset) + 4 > bytes.count {
            throw DatapathError.invalid(operation, "vary offset \(varyOffset) + 4 exceeds the \(bytes.count)-byte frame")
        }
        var value = lb_bench_frame()
        value.len = UInt32(bytes.count)
        value.flags = varyOffset == nil ? 0 : UInt32(LB_BENCH_F_VARY)
        value.vary_offset = varyOffset ?? 0
        value.counter = 0
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
