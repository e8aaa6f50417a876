/// A BPF object its caller embeds, loaded whole and never pinned: how the benchmarks and
/// the tests load programs lbd does not ship (bpf/bench/), through this module's checks
/// of the shared structs.
public struct UnpinnedObject {
    private let loaded: LoadedObject

    /// `bytes`: the object file's contents; `programs` and `maps`: what `program(_:)` and
    /// `map(_:)` hand out; `requiredStructs`: lb_abi.h structs its BTF must hold.
    public init(name: String, bytes: UnsafeRawBufferPointer, programs: [String], maps: [String],
                requiredStructs: [String]) throws {
        let spec = ObjectSpec(objectName: name, embedded: bytes, pinnedProgram: nil, programs: programs, maps: maps,
                              requiredStructs: requiredStructs)
        loaded = try ObjectLoader.open(spec, objectPath: nil, pinDirectory: nil)
    }

    public func program(_ name: String) throws -> BPFProgram {
        try loaded.program(name)
    }

    public func map<Key: BitwiseCopyable, Value: BitwiseCopyable>(_ name: String) throws -> BPFMap<Key, Value> {
        try loaded.map(name)
    }
}
