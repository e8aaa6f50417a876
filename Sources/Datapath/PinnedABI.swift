import CLibbpf
import Maglev

/// What the maps of a pin directory were created for, pinned next to them as `abi`: the
/// `LB_ABI_VERSION` of bpf/lb_abi.h and a digest of every map's key and value types as
/// the object's BTF describes them (member names, offsets, widths). Pinned maps are
/// reused, adopted or under a new program, only with an equal record: a struct that
/// changes meaning but not size (LB_ABI_VERSION bumped, or members renamed or reordered
/// without a bump) is refused instead of read with the wrong meaning.
///
/// The record is pinned before the first map is created, so maps without one were
/// pinned by an lbd that predates it, all of which used ABI 1.
struct ABIRecord: Equatable, BitwiseCopyable {
    var version: UInt32
    var reserved: UInt32 = 0
    var layoutDigest: UInt64

    static let pinName = "abi"
    /// The ABI of maps pinned before lbd recorded one.
    static let unrecordedVersion: UInt32 = 1

    /// The record pinned in `directory`, nil if there is none.
    static func pinned(in directory: String) throws -> ABIRecord? {
        guard let fd = try BPFFS.open(directory + "/" + pinName) else { return nil }
        let map = try BPFMap<UInt32, ABIRecord>(name: pinName, fd: fd)
        return try map.lookup(key: 0)
    }

    /// Pins this record in `directory`, replacing any.
    func pin(in directory: String) throws {
        let operation = "record the maps' ABI in \(directory)"
        let raw = bpf_map_create(BPF_MAP_TYPE_ARRAY, "lb_abi", UInt32(MemoryLayout<UInt32>.size),
                                 UInt32(MemoryLayout<ABIRecord>.size), 1, nil)
        try check(raw, operation)
        let map = try BPFMap<UInt32, ABIRecord>(name: Self.pinName, fd: try FileDescriptor(owning: raw))
        try map.update(key: 0, value: self)
        try BPFFS.pinReplacing(fd: map.rawFD, directory: directory, name: Self.pinName)
    }

    /// Why maps pinned under `recorded` (nil: no record, `anyMapPinned` or not) cannot be
    /// used by this binary, whose record is `self`; nil when they can.
    func refusal(ofPinned recorded: ABIRecord?, anyMapPinned: Bool) -> String? {
        guard let recorded else {
            guard anyMapPinned, version != Self.unrecordedVersion else { return nil }
            return "the maps were pinned without an ABI record (LB_ABI_VERSION \(Self.unrecordedVersion)); "
                + "this binary uses LB_ABI_VERSION \(version)"
        }
        if recorded.version != version {
            return "the maps were created for LB_ABI_VERSION \(recorded.version); this binary uses \(version)"
        }
        if recorded.layoutDigest != layoutDigest {
            return "the maps' key and value structs differ from this binary's (names, offsets or widths), though both "
                + "use LB_ABI_VERSION \(version): bpf/lb_abi.h changed without a version bump"
        }
        return nil
    }

    /// The digest of `description`, the maps' types in `BTFLayout` form.
    static func digest(_ description: String) -> UInt64 {
        digestHash.hash(Array(description.utf8))
    }

    private static let digestHash = SipHash24(key: Array("lbd.map-layouts1".utf8))
}

/// A type of a BTF blob as text: what a map's bytes mean, and nothing else (typedef
/// names and qualifiers resolved away, so compilers that spell a type differently agree).
enum BTFLayout {
    static func describe(_ btf: OpaquePointer, _ id: UInt32, depth: Int = 0) -> String {
        guard depth < 32, let type = btf__type_by_id(btf, id) else { return "?" }
        if btf_is_typedef(type) || btf_is_mod(type) {
            return describe(btf, type.pointee.type, depth: depth + 1)
        }
        if btf_is_int(type) {
            let signed = btf_int_encoding(type) & UInt8(BTF_INT_SIGNED) != 0
            return (signed ? "s" : "u") + String(btf_int_bits(type))
        }
        if btf_is_array(type), let array = btf_array(type)?.pointee {
            return describe(btf, array.type, depth: depth + 1) + "[\(array.nelems)]"
        }
        if btf_is_composite(type), let members = btf_members(type) {
            let fields = (0..<UInt32(btf_vlen(type))).map { i in
                let member = members[Int(i)]
                let bits = btf_member_bitfield_size(type, i)
                return name(btf, member.name_off) + "@\(btf_member_bit_offset(type, i))" + (bits > 0 ? ":\(bits)" : "")
                    + " " + describe(btf, member.type, depth: depth + 1)
            }
            return (btf_is_struct(type) ? "struct " : "union ") + name(btf, type.pointee.name_off)
                + "{" + fields.joined(separator: ", ") + "}"
        }
        if btf_is_any_enum(type) { return "enum\(type.pointee.size)" }
        if btf_is_ptr(type) { return "ptr" }
        return "kind\(btf_kind(type))"
    }

    private static func name(_ btf: OpaquePointer, _ offset: UInt32) -> String {
        cString(btf__name_by_offset(btf, offset))
    }
}
