import ArgumentParser
import Foundation
import LBDAPI

/// `lbctl capture`: packets the balancer handles, as a pcap file.
struct CaptureCommand: DaemonCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Capture the packets the balancer handles for a VIP into a pcap file.",
        discussion: """
            lbd copies each matching packet as received and, when it sends it on, as \
            encapsulated (two frames), up to --snaplen bytes each, and stops after --count \
            packets or --seconds, whichever comes first. Verdicts: tx (sent to a backend), \
            pass (to the kernel), drop, miss (routed by the ring: SYNs, new and lost flows), \
            icmp (answered, forwarded or generated). Read the file with tcpdump -r or Wireshark.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: ArgumentHelp("Only this VIP's packets (address:port/proto); every VIP's without.", valueName: "vip"))
    var vip: String?

    @Option(help: ArgumentHelp("Stop after this many packets (1 to 10000).", valueName: "n"))
    var count = 100

    @Option(help: ArgumentHelp("Stop after this many seconds (1 to 60).", valueName: "s"))
    var seconds = 10

    @Option(name: .customLong("verdict"),
            help: ArgumentHelp("Only packets with this verdict; repeat for several (default: all).",
                               valueName: "tx|pass|drop|miss|icmp"))
    var verdicts: [String] = []

    @Option(help: ArgumentHelp("Copy one matching packet in n (per CPU).", valueName: "n"))
    var sample = 1

    @Option(help: ArgumentHelp("Bytes copied per frame (64 to 512).", valueName: "bytes"))
    var snaplen = 256

    @Option(name: .customShort("w"), help: ArgumentHelp("The pcap file to write.", valueName: "file"),
            completion: .file())
    var file: String

    static let verdictNames = ["tx", "pass", "drop", "miss", "icmp"]

    func execute(in session: Session) throws(Failure) {
        let request = LBDClient.captureRequest(count: try ArgumentValues.inRange(count, "--count", 1...10_000),
                                               seconds: try ArgumentValues.inRange(seconds, "--seconds", 1...60),
                                               sample: try ArgumentValues.inRange(sample, "--sample", 1...1_000_000),
                                               snaplen: try ArgumentValues.inRange(snaplen, "--snaplen", 64...512),
                                               verdicts: try checkedVerdicts(),
                                               vip: try vip.map { text throws(Failure) in try ArgumentValues.vip(text).description })
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent().path
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw .usage("cannot write \(file): \(directory) is not a writable directory")
        }
        let pcap = try session.call { api throws(LBDClientError) in try api.call(request) }
        do {
            try Data(pcap).write(to: URL(fileURLWithPath: file), options: .atomic)
        } catch {
            throw .daemon("lbd captured \(Self.frames(in: pcap)) frames, but \(file) cannot be written: \(error.localizedDescription)")
        }
        let frames = Self.frames(in: pcap)
        session.print("\(frames) frame\(frames == 1 ? "" : "s") written to \(file)")
    }

    /// The `--verdict` values, each one lbd knows.
    private func checkedVerdicts() throws(Failure) -> [String] {
        if let unknown = verdicts.first(where: { !Self.verdictNames.contains($0) }) {
            throw .usage("unknown verdict '\(unknown)': expected tx, pass, drop, miss or icmp")
        }
        return verdicts
    }

    /// Records of a little-endian pcap file: a 24-byte header, then 16 bytes and the data each.
    static func frames(in pcap: [UInt8]) -> Int {
        var offset = 24, frames = 0
        while offset + 16 <= pcap.count {
            let length = pcap[offset + 8..<offset + 12].reversed().reduce(0) { $0 << 8 | Int($1) }
            offset += 16 + length
            frames += 1
        }
        return frames
    }
}
