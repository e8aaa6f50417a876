import CLibbpf
import Glibc

/// What the kernel says about a map (`BPF_OBJ_GET_INFO_BY_FD`): the ground truth for
/// adopted maps, whose layout no longer comes from an object file.
struct MapInfo: Equatable, Sendable {
    var type: UInt32
    var id: UInt32
    var keySize: UInt32
    var valueSize: UInt32
    var maxEntries: UInt32
    var flags: UInt32
    var name: String

    init(fd: Int32, what: String) throws {
        var info = bpf_map_info()
        var length = UInt32(MemoryLayout<bpf_map_info>.size)
        try check(bpf_obj_get_info_by_fd(fd, &info, &length), "read kernel info of \(what)")
        type = info.type
        id = info.id
        keySize = info.key_size
        valueSize = info.value_size
        maxEntries = info.max_entries
        flags = info.map_flags
        name = cString(tuple: info.name)
    }

    var layout: MapLayout {
        MapLayout(type: type, keySize: keySize, valueSize: valueSize, maxEntries: maxEntries, flags: flags)
    }
}

/// The attributes libbpf compares before reusing a pinned map; equal layouts mean the
/// running program and this binary read and write the same bytes.
struct MapLayout: Equatable, Sendable, CustomStringConvertible {
    var type: UInt32
    var keySize: UInt32
    var valueSize: UInt32
    var maxEntries: UInt32
    var flags: UInt32

    var description: String {
        let typeName = cString(libbpf_bpf_map_type_str(bpf_map_type(type)))
        return "type \(typeName.isEmpty ? String(type) : typeName), key \(keySize) B, value \(valueSize) B, "
            + "max_entries \(maxEntries), flags 0x\(String(flags, radix: 16))"
    }
}

/// What the kernel says about a program, including the maps it uses.
struct ProgramInfo: Sendable {
    var type: UInt32
    var id: UInt32
    var name: String
    var mapIDs: [UInt32]

    init(fd: Int32, what: String) throws {
        var info = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        try check(bpf_obj_get_info_by_fd(fd, &info, &length), "read kernel info of \(what)")
        let count = Int(info.nr_map_ids)
        var ids = [UInt32](repeating: 0, count: count)
        if count > 0 {
            // Second call: the kernel fills map_ids up to nr_map_ids.
            var second = bpf_prog_info()
            second.nr_map_ids = UInt32(count)
            length = UInt32(MemoryLayout<bpf_prog_info>.size)
            let result = ids.withUnsafeMutableBufferPointer { buffer -> Int32 in
                second.map_ids = UInt64(UInt(bitPattern: buffer.baseAddress))
                return bpf_obj_get_info_by_fd(fd, &second, &length)
            }
            try check(result, "read map ids of \(what)")
            ids = Array(ids.prefix(min(count, Int(second.nr_map_ids))))
        }
        type = info.type
        id = info.id
        name = cString(tuple: info.name)
        mapIDs = ids
    }
}

/// The BPF object name limit (BPF_OBJ_NAME_LEN - 1): the kernel keeps this much of a name.
let kernelNameLength = 15

func kernelName(_ name: String) -> String { String(decoding: name.utf8.prefix(kernelNameLength), as: UTF8.self) }
