/// `prefix` and a random base-36 word of at most 7 characters: names of namespaces,
/// interfaces, pin directories and files that no other run, concurrent or earlier, uses.
/// Short enough for an interface name (15 bytes) with a 3-character prefix.
public func uniqueName(_ prefix: String = "") -> String {
    prefix + String(UInt32.random(in: 0 ... .max), radix: 36)
}
