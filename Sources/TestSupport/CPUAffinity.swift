import CAffinity
import Foundation

/// The calling thread bound to the CPU it runs on, until `release`: BPF_PROG_TEST_RUN runs
/// a program on its caller's CPU, so a test or benchmark of per-CPU state (a window, a
/// counter) must not migrate between runs.
public final class CPUPin {
    public let cpu: Int
    private var previous = lb_cpu_mask()

    public init() throws {
        cpu = Int(lb_current_cpu())
        guard lb_get_affinity(&previous) == 0, lb_bind_to_cpu(Int32(cpu)) == 0 else {
            throw CPUPinFailed(description: "cannot bind the thread to CPU \(cpu): errno \(errno)")
        }
    }

    /// Gives the thread back the CPUs it had.
    public func release() {
        _ = lb_set_affinity(&previous)
    }
}

public struct CPUPinFailed: Error, CustomStringConvertible {
    public let description: String
}
