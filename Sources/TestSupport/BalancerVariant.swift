import Foundation

/// bpf/balancer.bpf.c compiled from an edited copy of bpf/: another build of the
/// balancer, as an older or newer lbd would embed it.
public struct BalancerVariant: Sendable {
    /// The compiled object.
    public let object: String
    private let directory: String

    /// Applies each sed expression to its file under bpf/ (each must change the file) and
    /// compiles. `remove()` deletes the copy.
    public init(edits: [(file: String, sed: String)]) throws {
        let repo = SourceTree.root
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent(uniqueName("lbd-variant-")).path
        object = directory + "/balancer.bpf.o"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var script = "cp -r '\(repo)/bpf' '\(directory)/bpf' && rm -rf '\(directory)/bpf/build'"
        for edit in edits {
            let file = "\(directory)/bpf/\(edit.file)"
            script += " && cp '\(file)' '\(file).orig' && sed -i '\(edit.sed)' '\(file)' && ! cmp -s '\(file)' '\(file).orig'"
        }
        script += " && cd '\(directory)' && clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu -Ibpf"
            + " -c bpf/balancer.bpf.c -o '\(object)'"
        let output = try runProcess("/bin/sh", ["-c", script])
        guard output.status == 0 else {
            remove()
            throw VariantBuildFailed(description: "building a balancer variant failed (\(output.status)): \(output.stderr)")
        }
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Outer TTL / hop limit 63 instead of 64: the same maps, other code, visibly other output.
    public static let ttl63 = (file: "lib/encap.h", sed: "s/^#define ENCAP_TTL 64$/#define ENCAP_TTL 63/")
    /// lb_traffic's two counters swapped: the same sizes, another meaning.
    public static let trafficSwapped = (file: "lb_abi.h",
                                        sed: "/^\\t__u64 packets;$/{N;s/\\(.*\\)\\n\\(.*\\)/\\2\\n\\1/}")
    /// One more counter in lb_traffic: an object whose structs Swift does not share.
    public static let trafficGrown = (file: "lb_abi.h", sed: "s/^\\t__u64 bytes;$/\\t__u64 bytes;\\n\\t__u64 drops;/")
}

public struct VariantBuildFailed: Error, CustomStringConvertible {
    public let description: String
}
