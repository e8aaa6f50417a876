import Glibc

/// Whole files and standard input, read with POSIX calls so a failure is reported with
/// the system's own reason (`No such file or directory`, `Permission denied`).
enum FileReader {
    static func contents(of path: String) throws(Failure) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .usage("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        return try readAll(descriptor, name: path)
    }

    static func standardInput() throws(Failure) -> [UInt8] {
        try readAll(STDIN_FILENO, name: "standard input")
    }

    /// One line typed on standard input, without its newline: what is there before end of
    /// file or an error when no newline comes. Read byte by byte, so nothing after the
    /// line is consumed.
    static func standardInputLine() -> String {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = read(STDIN_FILENO, &byte, 1)
            if count < 0, errno == EINTR { continue }
            if count <= 0 || byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
    }

    private static func readAll(_ descriptor: Int32, name: String) throws(Failure) -> [UInt8] {
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return contents }
            if count < 0 {
                if errno == EINTR { continue }
                throw .usage("cannot read \(name): \(String(cString: strerror(errno)))")
            }
            contents += chunk[..<count]
        }
    }
}
