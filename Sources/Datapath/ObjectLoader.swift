import CBPFObjects
import CLBABI
import CLibbpf
import Glibc

/// What to do with a compatible program already pinned in the pin directory.
public enum ProgramPolicy: Sendable, Equatable {
    /// Use the pinned program and maps as they are: nothing is loaded, no map entry
    /// changes, the attached program keeps running. The normal daemon restart.
    case adopt
    /// Load this binary's program even if a compatible one is pinned, reusing the pinned
    /// maps (contents kept) and re-pinning the program in one step. The upgrade path:
    /// the interface keeps running the old program until `attach` replaces it atomically.
    case reload
}

/// How a datapath came to be.
public enum DatapathOrigin: Sendable, Equatable, CustomStringConvertible {
    /// The pinned program and maps were adopted untouched.
    case adopted
    /// This binary's program was loaded. `reusedMaps` were already pinned and kept their
    /// contents; the others were created empty. `reason` says why nothing was adopted.
    case loaded(reason: String, reusedMaps: [String])

    public var description: String {
        switch self {
        case .adopted:
            return "adopted the pinned program and maps"
        case let .loaded(reason, reused):
            return "loaded a new program (\(reason))"
                + (reused.isEmpty ? "" : "; reused pinned maps: " + reused.joined(separator: ", "))
        }
    }
}

/// Which object to load and how to configure it.
struct ObjectSpec {
    /// libbpf's object name: prefixes internal map names ("balancer.rodata").
    var objectName: String
    var embedded: UnsafeRawBufferPointer
    /// The program pinned as `<pinDirectory>/<name>` and adopted from there.
    var pinnedProgram: String?
    /// Programs handed to the caller (loaded fresh: all of them; adopted: the pinned one).
    var programs: [String]
    /// Maps handed to the caller. Every non-internal map of the object is pinned.
    var maps: [String]
    var maxEntries: [String: UInt32] = [:]
    /// Shared structs that must be in the object's BTF (the others are checked if present).
    var requiredStructs: [String]
    /// A `const volatile` variable in .rodata to set before load, and its bytes.
    var rodata: (variable: String, bytes: [UInt8])?
}

/// Programs and maps by name, as descriptors, and how they were obtained.
struct LoadedObject {
    var programs: [String: BPFProgram]
    var maps: [String: FileDescriptor]
    var origin: DatapathOrigin

    func program(_ name: String) throws -> BPFProgram {
        guard let program = programs[name] else {
            throw DatapathError(kind: .missingFromObject, operation: "find program \(name)", message: "not loaded")
        }
        return program
    }

    func map<Key: BitwiseCopyable, Value: BitwiseCopyable>(_ name: String) throws -> BPFMap<Key, Value> {
        guard let fd = maps[name] else {
            throw DatapathError(kind: .missingFromObject, operation: "find map \(name)", message: "not loaded")
        }
        return try BPFMap(name: name, fd: fd)
    }
}

/// The structs of lb_abi.h used as map keys and values (or .rodata), with Swift's size
/// of each: compared with the BTF of every object before anything is loaded.
let sharedStructSizes: [(name: String, size: Int)] = [
    ("lb_limits", MemoryLayout<lb_limits>.size),
    ("lb_vip_key", MemoryLayout<lb_vip_key>.size),
    ("lb_vip_info", MemoryLayout<lb_vip_info>.size),
    ("lb_vip_addr_key", MemoryLayout<lb_vip_addr_key>.size),
    ("lb_backend", MemoryLayout<lb_backend>.size),
    ("lb_flow_key", MemoryLayout<lb_flow_key>.size),
    ("lb_flow", MemoryLayout<lb_flow>.size),
    ("lb_config", MemoryLayout<lb_config>.size),
    ("lb_traffic", MemoryLayout<lb_traffic>.size),
    ("lb_global_stats", MemoryLayout<lb_global_stats>.size),
    ("lb_decap_stats", MemoryLayout<lb_decap_stats>.size),
    ("lb_bench_frame", MemoryLayout<lb_bench_frame>.size),
]

/// The bytes of an embedded object (Sources/CBPFObjects).
func embeddedObject(_ base: UnsafeRawPointer?, _ size: UInt) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: base, count: Int(size))
}

/// The loader. Two paths, both explicit:
///
/// - **Adopt**: the pin directory holds the program and every map, each map's layout
///   (type, key and value size, max_entries, flags) equals what this object and these
///   limits would create, the program uses exactly those maps and was loaded with the
///   same .rodata. Then nothing is loaded: the pinned descriptors are opened and used.
/// - **Load**: otherwise (or with `.reload`). Every map gets a pin path, so libbpf reuses
///   a compatible pinned map (contents kept) and creates and pins the missing ones; the
///   program is loaded and pinned over the old pin in one step. A pinned map with
///   another layout is never reused nor replaced: `.incompatiblePins`, nothing changed.
enum ObjectLoader {
    static func open(_ spec: ObjectSpec, objectPath: String?, pinDirectory: String?,
                     policy: ProgramPolicy = .adopt) throws -> LoadedObject {
        let object = try OpenedObject(spec: spec, path: objectPath)
        try object.checkStructLayouts(required: spec.requiredStructs)
        try object.requireMembers(programs: spec.programs + (spec.pinnedProgram.map { [$0] } ?? []), maps: spec.maps)
        for (name, entries) in spec.maxEntries {
            try check(bpf_map__set_max_entries(object.map(name), entries),
                      "size map \(name) of \(spec.objectName) to \(entries) entries")
        }
        if let rodata = spec.rodata { try object.setRodata(variable: rodata.variable, bytes: rodata.bytes) }

        guard let directory = pinDirectory else {
            return try object.load(spec, pinDirectory: nil, origin: .loaded(reason: "not pinned", reusedMaps: []))
        }
        guard let programName = spec.pinnedProgram else {
            throw DatapathError.invalid("open \(spec.objectName)", "this object is not pinned")
        }
        try BPFFS.prepareDirectory(directory)
        let pins = try PinInspection(directory: directory, object: object, programName: programName, spec: spec)
        if !pins.incompatible.isEmpty {
            throw DatapathError(
                kind: .incompatiblePins, operation: "open \(spec.objectName) pinned at \(directory)",
                message: "the pinned datapath does not match this binary's object and limits; "
                    + "nothing was changed (remove the pins to reset)",
                details: pins.incompatible)
        }
        if policy == .adopt, pins.notAdoptable.isEmpty {
            var programs: [String: BPFProgram] = [:]
            if let fd = pins.program {
                programs[programName] = try BPFProgram(fd: fd, what: "pinned program \(programName)")
            }
            return LoadedObject(programs: programs, maps: pins.maps, origin: .adopted)
        }
        let reason = policy == .reload ? "reload requested" : pins.notAdoptable.joined(separator: "; ")
        return try object.load(spec, pinDirectory: directory,
                               origin: .loaded(reason: reason, reusedMaps: pins.maps.keys.sorted()))
    }

    /// Removes the pins of `spec`'s program and of every map of its object from `directory`,
    /// then the directory if it is empty. Returns the names removed.
    static func removePins(_ spec: ObjectSpec, directory: String, objectPath: String?) throws -> [String] {
        var info = stat()
        if stat(directory, &info) != 0, currentErrno() == ENOENT { return [] }
        // Only pins are ours to remove: never unlink same-named files elsewhere.
        try BPFFS.requireBPFFS(directory, operation: "remove pins from \(directory)")
        let object = try OpenedObject(spec: spec, path: objectPath)
        var names = object.pinnableMaps.map(\.name)
        if let program = spec.pinnedProgram { names.insert(program, at: 0) }
        var removed: [String] = []
        for name in names where try BPFFS.unpin(directory + "/" + name) { removed.append(name) }
        if let program = spec.pinnedProgram { try BPFFS.unpin(directory + "/" + program + "__pinning") }
        rmdir(directory)  // only if empty; anything else is not ours to remove
        return removed
    }
}

/// The state of a pin directory against an opened (not loaded) object.
private struct PinInspection {
    var program: FileDescriptor?
    var maps: [String: FileDescriptor] = [:]
    /// Pins this object cannot use at all: reported, never touched.
    var incompatible: [String] = []
    /// Why the pins, though usable by a new load, cannot be adopted as they are.
    var notAdoptable: [String] = []

    init(directory: String, object: OpenedObject, programName: String, spec: ObjectSpec) throws {
        var missing: [String] = []
        var mapIDs: [String: UInt32] = [:]
        for map in object.pinnableMaps {
            guard let fd = try BPFFS.open(directory + "/" + map.name) else {
                missing.append(map.name)
                continue
            }
            let info = try MapInfo(fd: fd.raw, what: "pinned map \(map.name)")
            if info.layout != map.layout {
                incompatible.append("map \(map.name): pinned \(info.layout); this binary needs \(map.layout)")
                continue
            }
            maps[map.name] = fd
            mapIDs[map.name] = info.id
        }
        if !missing.isEmpty { notAdoptable.append("maps not pinned: " + missing.joined(separator: ", ")) }

        guard let fd = try BPFFS.open(directory + "/" + programName) else {
            if maps.isEmpty, missing.count == object.pinnableMaps.count {
                notAdoptable = ["nothing pinned"]
            } else {
                notAdoptable.insert("program \(programName) not pinned", at: 0)
            }
            return
        }
        let info = try ProgramInfo(fd: fd.raw, what: "pinned program \(programName)")
        let expectedType = try object.programType(programName)
        if info.type != expectedType || info.name != kernelName(programName) {
            let typeName = cString(libbpf_bpf_prog_type_str(bpf_prog_type(info.type)))
            incompatible.append("pin \(programName) holds program \"\(info.name)\" of type \(typeName), "
                                + "not this object's \(programName)")
            return
        }
        program = fd
        let unused = mapIDs.filter { !info.mapIDs.contains($0.value) }.map(\.key).sorted()
        if !unused.isEmpty {
            notAdoptable.append("the pinned program does not use pinned maps " + unused.joined(separator: ", ")
                                + " (an interrupted upgrade?)")
        }
        if let rodata = spec.rodata, let offset = object.rodataOffset {
            if let running = Self.rodataBytes(of: info, at: offset, count: rodata.bytes.count), running != rodata.bytes {
                notAdoptable.append("the pinned program was loaded with other \(rodata.variable)")
            }
        }
    }

    /// `count` bytes at `offset` of the .rodata map a program uses, if it has one we can read.
    private static func rodataBytes(of program: ProgramInfo, at offset: Int, count: Int) -> [UInt8]? {
        for id in program.mapIDs {
            let raw = bpf_map_get_fd_by_id(id)
            guard raw >= 0, let fd = try? FileDescriptor(owning: raw),
                  let info = try? MapInfo(fd: fd.raw, what: "map \(id)"),
                  info.name.hasSuffix(".rodata"), Int(info.valueSize) >= offset + count else { continue }
            var value = [UInt8](repeating: 0, count: Int(info.valueSize))
            var key: UInt32 = 0
            guard bpf_map_lookup_elem(fd.raw, &key, &value) == 0 else { return nil }
            return Array(value[offset..<(offset + count)])
        }
        return nil
    }
}

/// An opened, not yet loaded, libbpf object. Closed (with everything libbpf holds) on
/// deinit: loaded programs and maps survive through duplicated descriptors and pins.
private final class OpenedObject {
    let handle: OpaquePointer
    let name: String
    /// Where the kernel writes the verifier (or BTF) log when a load fails, so the error
    /// can carry it instead of it scrolling past on stderr.
    private let log: UnsafeMutablePointer<CChar>
    private static let logSize = 4 << 20
    private(set) var rodataOffset: Int?

    init(spec: ObjectSpec, path: String?) throws {
        name = spec.objectName
        log = .allocate(capacity: Self.logSize)
        log.initialize(to: 0)
        let opts = LibbpfOptions<bpf_object_open_opts>()
        opts.kernel_log_buf = log
        opts.kernel_log_size = Self.logSize
        let opened: OpaquePointer? = spec.objectName.withCString { objectName in
            opts.object_name = objectName
            if let path { return bpf_object__open_file(path, opts.pointer) }
            return bpf_object__open_mem(spec.embedded.baseAddress, spec.embedded.count, opts.pointer)
        }
        guard let opened else {
            let err = currentErrno()
            log.deallocate()
            throw DatapathError.system("open BPF object \(path ?? "\(spec.objectName) (embedded)")", code: err)
        }
        handle = opened
    }

    deinit {
        bpf_object__close(handle)
        log.deallocate()
    }

    struct PinnableMap {
        var name: String
        var layout: MapLayout
    }

    /// The object's own maps (internal ones such as .rodata belong to the program).
    var pinnableMaps: [PinnableMap] {
        var result: [PinnableMap] = []
        var map = bpf_object__next_map(handle, nil)
        while let current = map {
            if !bpf_map__is_internal(current) {
                let layout = MapLayout(type: bpf_map__type(current).rawValue, keySize: bpf_map__key_size(current),
                                       valueSize: bpf_map__value_size(current),
                                       maxEntries: bpf_map__max_entries(current), flags: bpf_map__map_flags(current))
                result.append(PinnableMap(name: cString(bpf_map__name(current)), layout: layout))
            }
            map = bpf_object__next_map(handle, current)
        }
        return result
    }

    func map(_ mapName: String) throws -> OpaquePointer {
        guard let map = bpf_object__find_map_by_name(handle, mapName) else {
            throw DatapathError(kind: .missingFromObject, operation: "find map \(mapName)",
                                message: "the \(name) object has no map \(mapName)")
        }
        return map
    }

    func program(_ programName: String) throws -> OpaquePointer {
        guard let program = bpf_object__find_program_by_name(handle, programName) else {
            throw DatapathError(kind: .missingFromObject, operation: "find program \(programName)",
                                message: "the \(name) object has no program \(programName)")
        }
        return program
    }

    func programType(_ programName: String) throws -> UInt32 {
        bpf_program__type(try program(programName)).rawValue
    }

    func requireMembers(programs: [String], maps: [String]) throws {
        for programName in programs { _ = try program(programName) }
        for mapName in maps { _ = try map(mapName) }
    }

    private var btf: OpaquePointer {
        get throws {
            guard let btf = bpf_object__btf(handle) else {
                throw DatapathError(kind: .missingFromObject, operation: "check the \(name) object",
                                    message: "it has no BTF (build it with -g)")
            }
            return btf
        }
    }

    /// Fails if Swift's size of a shared struct differs from the object's: the header
    /// Swift was compiled against is not the one the object was.
    func checkStructLayouts(required: [String]) throws {
        let btf = try self.btf
        for (structName, swiftSize) in sharedStructSizes {
            let id = btf__find_by_name_kind(btf, structName, UInt32(BTF_KIND_STRUCT))
            if id < 0 {
                if required.contains(structName) {
                    throw DatapathError(kind: .missingFromObject, operation: "check the \(name) object",
                                        message: "its BTF has no struct \(structName)")
                }
                continue
            }
            let btfSize = btf__resolve_size(btf, UInt32(id))
            if btfSize != Int64(swiftSize) {
                throw DatapathError(
                    kind: .layoutMismatch, operation: "check the \(name) object",
                    message: "struct \(structName) is \(btfSize) bytes in the object's BTF but \(swiftSize) bytes "
                        + "in Swift: the object and this binary were built from different lb_abi.h")
            }
        }
    }

    /// Writes `bytes` over the `const volatile` variable `variable` in .rodata, found
    /// through the BTF DATASEC (so the layout of the section is the object's, not assumed).
    func setRodata(variable: String, bytes: [UInt8]) throws {
        let operation = "set \(variable) in the \(name) object"
        let btf = try self.btf
        // libbpf's btf.h defines BTF_KIND_DATASEC again as a macro: the type picks one.
        let datasecKind: Int32 = BTF_KIND_DATASEC
        let section = btf__find_by_name_kind(btf, ".rodata", UInt32(datasecKind))
        guard section > 0, let datasec = btf__type_by_id(btf, UInt32(section)) else {
            throw DatapathError(kind: .missingFromObject, operation: operation, message: "the object has no .rodata")
        }
        var found: (offset: Int, size: Int)?
        if let entries = btf_var_secinfos(datasec) {
            for i in 0..<Int(btf_vlen(datasec)) {
                let entry = entries[i]
                guard let variableType = btf__type_by_id(btf, entry.type) else { continue }
                if cString(btf__name_by_offset(btf, variableType.pointee.name_off)) == variable {
                    found = (Int(entry.offset), Int(entry.size))
                }
            }
        }
        guard let found else {
            throw DatapathError(kind: .missingFromObject, operation: operation,
                                message: ".rodata has no variable \(variable)")
        }
        guard found.size == bytes.count else {
            throw DatapathError(kind: .layoutMismatch, operation: operation,
                                message: "\(variable) is \(found.size) bytes in the object's .rodata but \(bytes.count) in Swift")
        }
        var rodataMap: OpaquePointer?
        var map = bpf_object__next_map(handle, nil)
        while let current = map {
            if bpf_map__is_internal(current), cString(bpf_map__name(current)).hasSuffix(".rodata") {
                rodataMap = current
            }
            map = bpf_object__next_map(handle, current)
        }
        var size = 0
        guard let rodataMap, let initial = bpf_map__initial_value(rodataMap, &size),
              found.offset + found.size <= size else {
            throw DatapathError(kind: .missingFromObject, operation: operation,
                                message: "the object's .rodata map is missing or smaller than its BTF says")
        }
        var image = [UInt8](UnsafeRawBufferPointer(start: initial, count: size))
        image.replaceSubrange(found.offset..<(found.offset + found.size), with: bytes)
        try check(bpf_map__set_initial_value(rodataMap, image, image.count), operation)
        rodataOffset = found.offset
    }

    /// Loads the object (maps pinned under `pinDirectory` if given) and takes descriptors
    /// of what `spec` asks for; the pinned program is pinned last, so a complete set of
    /// pins always includes a program that uses them.
    func load(_ spec: ObjectSpec, pinDirectory: String?, origin: DatapathOrigin) throws -> LoadedObject {
        if let pinDirectory {
            for map in pinnableMaps {
                try check(bpf_map__set_pin_path(try self.map(map.name), pinDirectory + "/" + map.name),
                          "set the pin path of map \(map.name)")
            }
        }
        log[0] = 0
        let result = bpf_object__load(handle)
        if result < 0 {
            throw DatapathError.system("load BPF object \(name)", code: result, details: logTail())
        }
        var programs: [String: BPFProgram] = [:]
        for programName in Set(spec.programs + (spec.pinnedProgram.map { [$0] } ?? [])) {
            let fd = try FileDescriptor.duplicating(bpf_program__fd(try program(programName)),
                                                    what: "program \(programName)")
            programs[programName] = try BPFProgram(fd: fd, what: "program \(programName)")
        }
        var maps: [String: FileDescriptor] = [:]
        for mapName in spec.maps {
            maps[mapName] = try FileDescriptor.duplicating(bpf_map__fd(try map(mapName)), what: "map \(mapName)")
        }
        if let pinDirectory, let programName = spec.pinnedProgram, let program = programs[programName] {
            try BPFFS.pinReplacing(fd: program.rawFD, directory: pinDirectory, name: programName)
        }
        return LoadedObject(programs: programs, maps: maps, origin: origin)
    }

    /// The last lines of the kernel's log of the failed load (the verifier's verdict is at the end).
    private func logTail(lines: Int = 30) -> [String] {
        log[Self.logSize - 1] = 0
        let text = String(cString: log)
        let all = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard !all.isEmpty else { return [] }
        let tail = all.suffix(lines)
        return (all.count > lines ? ["verifier log (last \(lines) of \(all.count) lines):"] : ["verifier log:"]) + tail
    }
}
