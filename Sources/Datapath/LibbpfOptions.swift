/// A libbpf options struct in memory of its own, every byte zero and `sz` set, written
/// field by field in place. libbpf refuses one whose bytes past its last field are not
/// zero ("has non-zero extra bytes"); a Swift value may lose its padding bytes when
/// copied or kept in registers, and a release lbd failed to query XDP because of it.
@dynamicMemberLookup
final class LibbpfOptions<Options> {
    let pointer: UnsafeMutablePointer<Options>

    init() {
        pointer = .allocate(capacity: 1)
        let raw = UnsafeMutableRawPointer(pointer)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<Options>.size)
        raw.storeBytes(of: MemoryLayout<Options>.size, as: Int.self) // `size_t sz` leads every opts struct
    }

    deinit { pointer.deallocate() }

    subscript<Field>(dynamicMember field: WritableKeyPath<Options, Field>) -> Field {
        get { pointer.pointee[keyPath: field] }
        set { pointer.pointee[keyPath: field] = newValue }
    }
}
