/// Where a backend starts in the table and how far it steps: its preference list is
/// `offset, offset + skip, offset + 2·skip, …` (mod the table size).
///
/// Both come from the backend's identity bytes only, never from its position in a
/// list, so adding or removing one backend leaves every other backend's preference
/// list unchanged (the source of Maglev's small disruption).
struct Permutation: Equatable {
    let offset: UInt32
    let skip: UInt32

    /// ASCII "maglev.offset.v1" and "maglev.skip...v1": the SipHash-2-4 keys of the
    /// two hashes. Part of the table format (Maglev.docc/Format.md); never change them.
    static let offsetHash = SipHash24(key: Array("maglev.offset.v1".utf8))
    static let skipHash = SipHash24(key: Array("maglev.skip...v1".utf8))

}

extension Permutation {
    /// `offset` lies in 0..<size and `skip` in 1..<size: with `size` prime, every skip
    /// is coprime to it, so the preference list visits every slot exactly once.
    init(identity: [UInt8], size: UInt32) {
        let size = UInt64(size)
        offset = UInt32(Self.offsetHash.hash(identity) % size)
        skip = UInt32(Self.skipHash.hash(identity) % (size - 1) + 1)
    }
}
