/// Text forms: dotted-quad IPv4, RFC 4291 IPv6 in, RFC 5952 IPv6 out.
extension IPAddress {
    /// Parses `192.0.2.1` or `2001:db8::1`. Strict, so a typo is an error rather than
    /// another address: IPv4 needs four decimal numbers without leading zeros (`010`
    /// means 8 to inet_aton and 10 to most readers); IPv6 zone indices (`%eth0`) and
    /// IPv4-mapped addresses (see `IPAddress`) are refused.
    public init(_ text: String) throws(ParseError) {
        if text.contains(":") {
            self = try Self.parseIPv6(text)
        } else if !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) {
            self.init(ipv4: try Self.parseIPv4(text[...], in: text, family: "IPv4"))
        } else {
            throw ParseError("'\(text)' is not an IP address")
        }
    }

    /// Dotted quad for IPv4; RFC 5952 for IPv6 (lower case, the longest run of two or
    /// more zero groups shortened to `::`, the first such run on a tie).
    public var description: String {
        if let value = ipv4Value {
            return (0..<4).reversed().map { String(value >> ($0 * 8) & 0xff) }.joined(separator: ".")
        }
        let groups = groups
        var best = (start: 0, length: 0)
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else { index += 1; continue }
            let start = index
            while index < 8, groups[index] == 0 { index += 1 }
            if index - start > best.length { best = (start, index - start) }
        }
        let hex = { (slice: ArraySlice<UInt16>) in slice.map { String($0, radix: 16) }.joined(separator: ":") }
        guard best.length >= 2 else { return hex(groups[...]) }
        return hex(groups[..<best.start]) + "::" + hex(groups[(best.start + best.length)...])
    }

    // MARK: Parsing

    /// The number of dotted-quad `part`; `whole` and `family` name the value in messages.
    private static func parseIPv4(_ part: Substring, in whole: String, family: String) throws(ParseError) -> UInt32 {
        let fail = { (reason: String) in ParseError("bad \(family) address '\(whole)': \(reason)") }
        let numbers = part.split(separator: ".", omittingEmptySubsequences: false)
        guard numbers.count == 4 else { throw fail("expected four numbers separated by dots") }
        var value: UInt32 = 0
        for number in numbers {
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw fail("expected four numbers separated by dots")
            }
            guard number == "0" || number.first != "0" else {
                throw fail("'\(number)' has a leading zero (octal or decimal?); write it without")
            }
            guard number.count <= 3, let byte = UInt32(number), byte <= 255 else {
                throw fail("\(number) is above 255")
            }
            value = value << 8 | byte
        }
        return value
    }

    private static func parseIPv6(_ text: String) throws(ParseError) -> IPAddress {
        let fail = { (reason: String) in ParseError("bad IPv6 address '\(text)': \(reason)") }
        if text.contains("%") { throw fail("zone indices (%interface) are not supported") }
        if text.hasPrefix("[") || text.hasSuffix("]") {
            throw fail("brackets belong around the address in a VIP (address:port), not in an address")
        }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { throw fail("'::' may appear only once") }
        var head: [UInt16] = []
        var tail: [UInt16] = []
        for (position, half) in halves.enumerated() where !half.isEmpty {
            let fields = half.split(separator: ":", omittingEmptySubsequences: false)
            var groups: [UInt16] = []
            for (index, field) in fields.enumerated() {
                let isLast = position == halves.count - 1 && index == fields.count - 1
                if isLast, field.contains(".") {
                    let value = try parseIPv4(field, in: text, family: "IPv6")
                    groups += [UInt16(value >> 16), UInt16(value & 0xffff)]
                    continue
                }
                guard !field.isEmpty else { throw fail("empty group (a single ':' at an end, or ':::')") }
                guard field.count <= 4, let group = UInt16(field, radix: 16) else {
                    throw fail("'\(field)' is not a group of 1 to 4 hex digits")
                }
                groups.append(group)
            }
            if position == 0 { head = groups } else { tail = groups }
        }
        let count = head.count + tail.count
        if halves.count == 1, count != 8 { throw fail("expected 8 groups, found \(count)") }
        if halves.count == 2, count > 7 { throw fail("'::' stands for no group here: too many groups") }
        let groups = head + Array(repeating: 0, count: 8 - count) + tail
        guard let address = IPAddress(ipv6Groups: groups) else {
            let embedded = IPAddress(ipv4: UInt32(groups[6]) << 16 | UInt32(groups[7]))
            throw fail("an IPv4-mapped address is an IPv4 host; write \(embedded)")
        }
        return address
    }
}

extension IPAddress: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try IPAddress(text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
