import CBPFObjects
import CLBABI
import CLibbpf
import Glibc
import Maglev

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
    /// `const volatile` variables in .rodata to set before load, with their bytes: a pinned
    /// program is adopted only if it was loaded with the same.
    var rodata: [(variable: String, bytes: [UInt8])] = []
    /// A `const volatile __u64` in .rodata set to a hash of the object file: a pinned
    /// program is adopted only if it is this very build (another one is replaced over
    /// the same maps: an upgrade).
    var buildHashVariable: String?
    /// The ABI pinned maps must have been created for (see `ABIRecord`): every object
    /// shares bpf/lb_abi.h.
    var abiVersion = UInt32(LB_ABI_VERSION)
    /// Maps whose entries hold indices of other maps (connection entries name VIP and
    /// backend indices): when those are replaced, so are they.
    var references: [String: [String]] = [:]
    /// Maps of another loaded object, by name, used instead of creating them: the object's
    /// other maps are not created at all, so its programs must use these only. For
    /// objects loaded unpinned.
    var sharedMaps: [String: FileDescriptor] = [:]
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
        try BPFMap(name: name, fd: descriptor(name))
    }

    /// Map `name`'s descriptor, for a map without keys and values (a ring buffer).
    func descriptor(_ name: String) throws -> FileDescriptor {
        guard let fd = maps[name] else {
            throw DatapathError(kind: .missingFromObject, operation: "find map \(name)", message: "not loaded")
        }
        return fd
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
    ("lb_flow_slot", MemoryLayout<lb_flow_slot>.size),
    ("lb_flow_bucket_head", MemoryLayout<lb_flow_bucket_head>.size),
    ("lb_flow_bucket", MemoryLayout<lb_flow_bucket>.size),
    ("lb_config", MemoryLayout<lb_config>.size),
    ("lb_traffic", MemoryLayout<lb_traffic>.size),
    ("lb_vip_flows", MemoryLayout<lb_vip_flows>.size),
    ("lb_source_key", MemoryLayout<lb_source_key>.size),
    ("lb_source_flows", MemoryLayout<lb_source_flows>.size),
    ("lb_flood_config", MemoryLayout<lb_flood_config>.size),
    ("lb_flood_stats", MemoryLayout<lb_flood_stats>.size),
    ("lb_flood_window", MemoryLayout<lb_flood_window>.size),
    ("lb_flood_ring", MemoryLayout<lb_flood_ring>.size),
    ("lb_capture_config", MemoryLayout<lb_capture_config>.size),
    ("lb_capture_record", MemoryLayout<lb_capture_record>.size),
    ("lb_capture_stats", MemoryLayout<lb_capture_stats>.size),
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
/// - **Adopt**: the pin directory holds the program and every map, the maps were created
///   under this binary's `ABIRecord`, each map's layout (type, key and value size,
///   max_entries, flags) equals what this object and these limits would create, the
///   program uses exactly those maps and was loaded with the same .rodata — which holds
///   the hash of the object file, so it is this very build. Then nothing is loaded: the
///   pinned descriptors are opened and used.
/// - **Load**: otherwise (another build: an upgrade; or `.reload`). Every map gets a pin
///   path, so libbpf reuses a compatible pinned map (contents kept) and creates and pins
///   the missing ones; the program is loaded and pinned over the old pin in one step.
///   Pinned maps of another layout or ABI are never reused nor replaced:
///   `.incompatiblePins`, nothing changed (`removeIncompatiblePins` is the explicit reset).
enum ObjectLoader {
    static func open(_ spec: ObjectSpec, objectPath: String?, pinDirectory: String?,
                     policy: ProgramPolicy = .adopt) throws -> LoadedObject {
        let object = try prepare(spec, objectPath: objectPath)
        guard let directory = pinDirectory else {
            return try object.load(spec, pinDirectory: nil, origin: .loaded(reason: "not pinned", reusedMaps: []))
        }
        guard let programName = spec.pinnedProgram else {
            throw DatapathError.invalid("open \(spec.objectName)", "this object is not pinned")
        }
        try BPFFS.prepareDirectory(directory)
        let abi = ABIRecord(version: spec.abiVersion, layoutDigest: try object.layoutDigest())
        let pins = try PinInspection(directory: directory, object: object, programName: programName, spec: spec, abi: abi)
        if !pins.incompatible.isEmpty {
            throw DatapathError(
                kind: .incompatiblePins, operation: "open \(spec.objectName) pinned at \(directory)",
                message: "the pinned datapath does not match this binary's object and limits; "
                    + "nothing was changed (remove the pins to reset)",
                details: pins.incompatible)
        }
        // Before any map is created: a map pinned from now on was made under this record.
        if !pins.abiRecorded { try abi.pin(in: directory) }
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

    /// The object opened, checked against Swift's structs, sized and its .rodata set:
    /// ready to compare with pins or to load.
    private static func prepare(_ spec: ObjectSpec, objectPath: String?) throws -> OpenedObject {
        let object = try OpenedObject(spec: spec, path: objectPath)
        try object.checkStructLayouts(required: spec.requiredStructs)
        try object.requireMembers(programs: spec.programs + (spec.pinnedProgram.map { [$0] } ?? []), maps: spec.maps)
        for (name, entries) in spec.maxEntries {
            try check(bpf_map__set_max_entries(object.map(name), entries),
                      "size map \(name) of \(spec.objectName) to \(entries) entries")
        }
        var rodata = spec.rodata
        if let variable = spec.buildHashVariable {
            rodata.append((variable, withUnsafeBytes(of: object.buildHash.littleEndian) { Array($0) }))
        }
        try object.setRodata(rodata)
        return object
    }

    /// Removes the pins of `spec`'s program and of every map of its object from `directory`,
    /// then the directory if it is empty. Returns the names removed.
    static func removePins(_ spec: ObjectSpec, directory: String, objectPath: String?) throws -> [String] {
        var info = stat()
        if stat(directory, &info) != 0, currentErrno() == ENOENT { return [] }
        // Only pins are ours to remove: never unlink same-named files elsewhere.
        try BPFFS.requireBPFFS(directory, operation: "remove pins from \(directory)")
        let object = try OpenedObject(spec: spec, path: objectPath)
        var names = object.pinnableMaps.map(\.name) + [ABIRecord.pinName]
        if let program = spec.pinnedProgram { names.insert(program, at: 0) }
        var removed: [String] = []
        for name in names where try BPFFS.unpin(directory + "/" + name) { removed.append(name) }
        for name in [spec.pinnedProgram, ABIRecord.pinName].compactMap({ $0 }) {
            try BPFFS.unpin(directory + "/" + name + "__pinning")
        }
        rmdir(directory)  // only if empty; anything else is not ours to remove
        return removed
    }

    /// Removes only the pins this object cannot use with these limits (see
    /// `PinInspection.replaceable`), so that the next `open` creates them afresh and
    /// reuses the others with their contents. Returns the names removed.
    static func removeIncompatiblePins(_ spec: ObjectSpec, directory: String, objectPath: String?) throws -> [String] {
        guard let programName = spec.pinnedProgram else {
            throw DatapathError.invalid("reset \(spec.objectName)", "this object is not pinned")
        }
        try BPFFS.requireBPFFS(directory, operation: "remove incompatible pins from \(directory)")
        let object = try prepare(spec, objectPath: objectPath)
        let abi = ABIRecord(version: spec.abiVersion, layoutDigest: try object.layoutDigest())
        let pins = try PinInspection(directory: directory, object: object, programName: programName, spec: spec, abi: abi)
        var removed: [String] = []
        for name in pins.replaceable where try BPFFS.unpin(directory + "/" + name) { removed.append(name) }
        return removed
    }
}

/// The state of a pin directory against an opened (not loaded) object.
private struct PinInspection {
    var program: FileDescriptor?
    var maps: [String: FileDescriptor] = [:]
    /// Pins this object cannot use at all: reported, never touched.
    var incompatible: [String] = []
    /// The pins `incompatible` is about, with the maps whose entries point into them:
    /// what a reset replaces. Every pin when the ABI differs.
    var replaceable: [String] = []
    /// Why the pins, though usable by a new load, cannot be adopted as they are.
    var notAdoptable: [String] = []
    /// The directory holds an ABI record (equal to this binary's unless `incompatible`).
    var abiRecorded = false

    init(directory: String, object: OpenedObject, programName: String, spec: ObjectSpec, abi: ABIRecord) throws {
        var missing: [String] = []
        var pinned: [String] = []
        var mapIDs: [String: UInt32] = [:]
        for map in object.pinnableMaps {
            guard let fd = try BPFFS.open(directory + "/" + map.name) else {
                missing.append(map.name)
                continue
            }
            pinned.append(map.name)
            let info = try MapInfo(fd: fd.raw, what: "pinned map \(map.name)")
            if info.layout != map.layout {
                incompatible.append("map \(map.name): pinned \(info.layout); this binary needs \(map.layout)")
                replaceable.append(map.name)
                continue
            }
            maps[map.name] = fd
            mapIDs[map.name] = info.id
        }
        let recorded = try ABIRecord.pinned(in: directory)
        abiRecorded = recorded != nil
        if let refusal = abi.refusal(ofPinned: recorded, anyMapPinned: !pinned.isEmpty) {
            incompatible.insert(refusal, at: 0)
            let programPinned = try BPFFS.open(directory + "/" + programName) != nil
            replaceable = pinned + (programPinned ? [programName] : []) + (abiRecorded ? [ABIRecord.pinName] : [])
            return
        }
        for (map, targets) in spec.references.sorted(by: { $0.key < $1.key })
        where maps[map] != nil && targets.contains(where: replaceable.contains) {
            replaceable.append(map)
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
            replaceable.append(programName)
            return
        }
        program = fd
        let unused = mapIDs.filter { !info.mapIDs.contains($0.value) }.map(\.key).sorted()
        if !unused.isEmpty {
            notAdoptable.append("the pinned program does not use pinned maps " + unused.joined(separator: ", ")
                                + " (an interrupted upgrade?)")
        }
        guard !object.rodataVariables.isEmpty else { return }
        guard let running = Self.rodata(of: info) else {
            notAdoptable.append("the pinned program's .rodata cannot be read")
            return
        }
        for variable in object.rodataVariables {
            let range = variable.offset..<(variable.offset + variable.bytes.count)
            guard range.upperBound > running.count || Array(running[range]) != variable.bytes else { continue }
            notAdoptable.append(variable.name == spec.buildHashVariable
                ? "the pinned program is another build of \(spec.objectName)"
                : "the pinned program was loaded with other \(variable.name)")
        }
    }

    /// The value of the .rodata map a program uses, if it has one we can read.
    private static func rodata(of program: ProgramInfo) -> [UInt8]? {
        for id in program.mapIDs {
            let raw = bpf_map_get_fd_by_id(id)
            guard raw >= 0, let fd = try? FileDescriptor(owning: raw),
                  let info = try? MapInfo(fd: fd.raw, what: "map \(id)"), info.name.hasSuffix(".rodata") else { continue }
            var value = [UInt8](repeating: 0, count: Int(info.valueSize))
            var key: UInt32 = 0
            guard bpf_map_lookup_elem(fd.raw, &key, &value) == 0 else { return nil }
            return value
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
    /// The variables `setRodata` wrote, where, and with what.
    private(set) var rodataVariables: [(name: String, offset: Int, bytes: [UInt8])] = []
    /// A hash of the object file's bytes: which build of the program this is.
    let buildHash: UInt64

    init(spec: ObjectSpec, path: String?) throws {
        name = spec.objectName
        buildHash = Self.buildHasher.hash(try path.map(Self.contents) ?? Array(spec.embedded))
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

    private static let buildHasher = SipHash24(key: Array("lbd.object-build".utf8))

    /// The bytes of the file at `path`.
    private static func contents(_ path: String) throws -> [UInt8] {
        let operation = "read BPF object \(path)"
        let raw = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard raw >= 0 else { throw DatapathError.lastErrno(operation) }
        let fd = try FileDescriptor(owning: raw)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = read(fd.raw, &chunk, chunk.count)
            if count < 0, currentErrno() == EINTR { continue }
            guard count >= 0 else { throw DatapathError.lastErrno(operation) }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
        }
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

    /// A digest of every pinnable map's name, key type and value type (`BTFLayout`).
    func layoutDigest() throws -> UInt64 {
        let btf = try self.btf
        var lines: [String] = []
        var map = bpf_object__next_map(handle, nil)
        while let current = map {
            if !bpf_map__is_internal(current) {
                let key = bpf_map__btf_key_type_id(current), value = bpf_map__btf_value_type_id(current)
                lines.append(cString(bpf_map__name(current))
                    + " key " + (key == 0 ? "\(bpf_map__key_size(current)) B" : BTFLayout.describe(btf, key))
                    + " value " + (value == 0 ? "\(bpf_map__value_size(current)) B" : BTFLayout.describe(btf, value)))
            }
            map = bpf_object__next_map(handle, current)
        }
        return ABIRecord.digest(lines.sorted().joined(separator: "\n"))
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

    /// Writes each variable's bytes over the `const volatile` variable of that name in
    /// .rodata, found through the BTF DATASEC (so the layout of the section is the
    /// object's, not assumed).
    func setRodata(_ variables: [(variable: String, bytes: [UInt8])]) throws {
        guard !variables.isEmpty else { return }
        let operation = "set \(variables.map(\.variable).joined(separator: ", ")) in the \(name) object"
        let btf = try self.btf
        // libbpf's btf.h defines BTF_KIND_DATASEC again as a macro: the type picks one.
        let datasecKind: Int32 = BTF_KIND_DATASEC
        let section = btf__find_by_name_kind(btf, ".rodata", UInt32(datasecKind))
        guard section > 0, let datasec = btf__type_by_id(btf, UInt32(section)) else {
            throw DatapathError(kind: .missingFromObject, operation: operation, message: "the object has no .rodata")
        }
        var placed: [String: (offset: Int, size: Int)] = [:]
        if let entries = btf_var_secinfos(datasec) {
            for i in 0..<Int(btf_vlen(datasec)) {
                let entry = entries[i]
                guard let variableType = btf__type_by_id(btf, entry.type) else { continue }
                placed[cString(btf__name_by_offset(btf, variableType.pointee.name_off))] = (Int(entry.offset), Int(entry.size))
            }
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
        guard let rodataMap, let initial = bpf_map__initial_value(rodataMap, &size) else {
            throw DatapathError(kind: .missingFromObject, operation: operation, message: "the object has no .rodata map")
        }
        var image = [UInt8](UnsafeRawBufferPointer(start: initial, count: size))
        for (variable, bytes) in variables {
            guard let found = placed[variable] else {
                throw DatapathError(kind: .missingFromObject, operation: operation,
                                    message: ".rodata has no variable \(variable)")
            }
            guard found.size == bytes.count else {
                throw DatapathError(kind: .layoutMismatch, operation: operation,
                                    message: "\(variable) is \(found.size) bytes in the object's .rodata but \(bytes.count) in Swift")
            }
            guard found.offset + found.size <= size else {
                throw DatapathError(kind: .missingFromObject, operation: operation,
                                    message: "the object's .rodata map is smaller than its BTF says")
            }
            image.replaceSubrange(found.offset..<(found.offset + found.size), with: bytes)
            rodataVariables.append((variable, found.offset, bytes))
        }
        try check(bpf_map__set_initial_value(rodataMap, image, image.count), operation)
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
        try share(spec.sharedMaps)
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

    /// Reuses `shared` maps and creates none of the others.
    private func share(_ shared: [String: FileDescriptor]) throws {
        guard !shared.isEmpty else { return }
        for map in pinnableMaps {
            let handle = try self.map(map.name)
            if let fd = shared[map.name] {
                try check(bpf_map__reuse_fd(handle, fd.raw), "share map \(map.name) with \(name)")
            } else {
                try check(bpf_map__set_autocreate(handle, false), "leave map \(map.name) of \(name) uncreated")
            }
        }
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
