// Table population time, one line per case: `maglev M=<size> N=<backends> ms=<median>`.
// Run in release: `make bench-maglev` or `swift run -c release maglev-bench`.
@_spi(Benchmark) import Maglev

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let sizes = [65_537, 655_373]
let backendCounts = [10, 100, 1000, 4096]
/// Odd, so the median is one measured run; the first run also warms caches and pages.
let runs = 9

/// Backend identities as the control plane encodes them: IPv4-mapped IPv6 addresses
/// (::ffff:10.x.y.z), 16 bytes, all of weight 1.
func backends(count: Int) -> [MaglevBackend] {
    (0..<count).map { index in
        let address: [UInt8] = [10, UInt8(index >> 16 & 0xff), UInt8(index >> 8 & 0xff), UInt8(index & 0xff)]
        return try! MaglevBackend(id: Array(repeating: 0, count: 10) + [0xff, 0xff] + address, weight: 1)
    }
}

func milliseconds(_ body: () -> Void) -> Double {
    var start = timespec()
    var end = timespec()
    clock_gettime(CLOCK_MONOTONIC, &start)
    body()
    clock_gettime(CLOCK_MONOTONIC, &end)
    return Double(end.tv_sec - start.tv_sec) * 1e3 + Double(end.tv_nsec - start.tv_nsec) / 1e6
}

/// Median population time; M = 65 537 with 4096 backends is below the 100 × N rule
/// of the public initialiser, so the benchmark lifts that minimum to measure it.
func medianMilliseconds(size: Int, backends: [MaglevBackend]) -> Double {
    var checksum = 0
    let times = (0..<runs).map { _ in
        milliseconds {
            let table = try! MaglevTable(backends: backends, size: size, minimumSlotsPerBackend: 0)
            checksum &+= Int(table.slots[size / 2])
        }
    }
    precondition(checksum >= 0)  // keeps the tables observable to the optimiser
    return times.sorted()[runs / 2]
}

func threeDecimals(_ value: Double) -> String {
    let thousandths = Int((value * 1000).rounded())
    let fraction = String(thousandths % 1000)
    return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
}

for size in sizes {
    for count in backendCounts {
        let ms = medianMilliseconds(size: size, backends: backends(count: count))
        print("maglev M=\(size) N=\(count) ms=\(threeDecimals(ms))")
    }
}
