/// A datapath built around one XDP program: attaching, detaching and test-running it.
public protocol XDPProgramOwner {
    var program: BPFProgram { get }
}

extension XDPProgramOwner {
    /// Attaches the program to `interface`; see `BPFProgram.attachXDP`. `log` hears the
    /// fallback from native to generic mode (and mode switches).
    @discardableResult
    public func attach(interface: String, mode: XDPMode = .auto, log: (String) -> Void = { _ in }) throws -> XDPMode {
        try program.attachXDP(interface: interface, mode: mode, log: log)
    }

    /// Detaches the program (any version of it) from `interface`; false if none was attached.
    @discardableResult
    public func detach(interface: String) throws -> Bool {
        try program.detachXDP(interface: interface)
    }

    /// Runs the program on `frame` in the kernel; see `BPFProgram.testRun`.
    public func testRun(frame: [UInt8], repeat repetitions: UInt32 = 1) throws -> TestRunResult {
        try program.testRun(frame: frame, repeat: repetitions)
    }
}

extension BalancerDatapath: XDPProgramOwner {}
extension DecapDatapath: XDPProgramOwner {}
