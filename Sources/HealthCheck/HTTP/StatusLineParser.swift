/// Reads an HTTP/1.x response as far as the status line of the final response, for
/// checks that judge the status only.
///
/// Bytes are fed as they arrive, split anywhere. Lines end in CRLF or a bare LF. The
/// status line must be `HTTP/1.x SP 3DIGIT [SP reason]`; interim (1xx) responses other
/// than 101 are skipped with their header lines, as HTTP/1.1 clients do. A line longer
/// than `lineLimit` is refused rather than buffered without bound.
struct StatusLineParser {
    static let lineLimit = 8192

    let expectStatus: StatusRanges
    /// The start of a line split across reads (empty almost always: a status line
    /// arrives in one segment).
    private var pending: [UInt8] = []
    /// Skipping the header lines of an interim response, up to its empty line.
    private var interim = false

    init(expectStatus: StatusRanges) {
        self.expectStatus = expectStatus
    }

    /// The verdict, once `bytes` complete the status line of the final response;
    /// `nil` while more is needed.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Result<ProbeSuccess, ProbeFailure>? {
        var start = 0
        while start < bytes.count {
            guard let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                guard pending.count + bytes.count - start < Self.lineLimit else { return .failure(lineTooLong) }
                pending.append(contentsOf: bytes[start...])
                return nil
            }
            let verdict: Result<ProbeSuccess, ProbeFailure>?
            if pending.isEmpty {
                guard newline - start < Self.lineLimit else { return .failure(lineTooLong) }
                verdict = take(UnsafeRawBufferPointer(rebasing: bytes[start..<newline]))
            } else {
                guard pending.count + newline - start < Self.lineLimit else { return .failure(lineTooLong) }
                pending.append(contentsOf: bytes[start..<newline])
                verdict = pending.withUnsafeBytes { take($0) }
                pending.removeAll()
            }
            if let verdict { return verdict }
            start = newline + 1
        }
        return nil
    }

    private var lineTooLong: ProbeFailure {
        .invalidResponse("\(interim ? "header" : "status") line longer than \(Self.lineLimit) bytes")
    }

    /// One line without its LF.
    private mutating func take(_ line: UnsafeRawBufferPointer) -> Result<ProbeSuccess, ProbeFailure>? {
        let line = line.last == UInt8(ascii: "\r") ? UnsafeRawBufferPointer(rebasing: line.dropLast()) : line
        if interim {
            if line.isEmpty { interim = false }
            return nil
        }
        guard let status = Self.status(of: line) else {
            return .failure(.invalidResponse("malformed status line \(Self.quoted(line))"))
        }
        if (100...199).contains(status) && status != 101 {
            interim = true
            return nil
        }
        return expectStatus.contains(status) ? .success(.status(status)) : .failure(.status(status))
    }

    /// The status code of `HTTP/1.x SP 3DIGIT [SP reason]`; `nil` for anything else.
    static func status(of line: UnsafeRawBufferPointer) -> Int? {
        // "HTTP/1.1 200" is the shortest.
        guard line.count >= 12 else { return nil }
        var index = 0
        for expected in "HTTP/1.".utf8 {
            guard line[index] == expected else { return nil }
            index += 1
        }
        // The minor version's digit, then one space.
        guard isDigit(line[7]), line[8] == UInt8(ascii: " ") else { return nil }
        var status = 0
        for index in 9..<12 {
            let byte = line[index]
            guard isDigit(byte), index > 9 || byte != UInt8(ascii: "0") else { return nil }
            status = status * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard line.count == 12 || line[12] == UInt8(ascii: " ") else { return nil }
        return status
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// The line for a reason: at most 40 bytes, anything but printable ASCII as `.`.
    static func quoted(_ line: UnsafeRawBufferPointer) -> String {
        let shown = line.prefix(40).map { byte -> Character in
            byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") ? Character(UnicodeScalar(byte)) : "."
        }
        return "\"\(String(shown))\(line.count > 40 ? "…" : "")\""
    }
}
