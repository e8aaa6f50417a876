import Foundation

/// A response that is not HTTP/1.x as RFC 9112 frames it.
public struct HTTPParseError: Error, Equatable, Sendable {
    public let reason: String
}

/// Reads one HTTP/1.x response from the bytes received so far, with the body framed as
/// RFC 9112 §6.3 says: chunked, else `Content-Length`, else up to the end of the
/// connection. lbd's framework may pick any of the three, so all are read.
public enum HTTPResponseParser {
    private static let headEnd: [UInt8] = Array("\r\n\r\n".utf8)
    private static let lineEnd: [UInt8] = Array("\r\n".utf8)

    /// The response, or nil while more bytes are needed. `atEOF` says the peer has
    /// closed the connection: only a body framed by the close is complete then.
    public static func parse(_ bytes: [UInt8], atEOF: Bool) throws(HTTPParseError) -> HTTPResponse? {
        guard let end = bytes.firstRange(of: headEnd) else { return nil }
        let lines = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let status = try statusCode(lines[0])
        let headers = try lines.dropFirst().map { line throws(HTTPParseError) in try header(line) }
        let rest = bytes[end.upperBound...]
        var response = HTTPResponse(status: status, headers: headers, body: [])
        if (100..<200).contains(status) || status == 204 || status == 304 {
            return response
        }
        if let coding = response.header("Transfer-Encoding") {
            // Only a final "chunked" frames the body; any other coding runs to the close.
            let codings = coding.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            if codings.last == "chunked" {
                guard let body = try dechunk(rest) else { return nil }
                response.body = body
                return response
            }
        } else if let length = response.header("Content-Length") {
            guard !length.isEmpty, length.allSatisfy({ $0.isASCII && $0.isNumber }), let count = Int(length) else {
                throw HTTPParseError(reason: "bad Content-Length '\(length)'")
            }
            guard rest.count >= count else { return nil }
            response.body = Array(rest.prefix(count))
            return response
        }
        guard atEOF else { return nil }
        response.body = Array(rest)
        return response
    }

    /// `HTTP/1.1 200 OK` → 200.
    private static func statusCode(_ line: String) throws(HTTPParseError) -> Int {
        let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3,
              parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let code = Int(parts[1]) else {
            throw HTTPParseError(reason: "bad status line '\(line)'")
        }
        return code
    }

    private static func header(_ line: String) throws(HTTPParseError) -> HTTPResponse.Header {
        guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
            throw HTTPParseError(reason: "bad header line '\(line)'")
        }
        return HTTPResponse.Header(name: String(line[..<colon]),
                                   value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
    }

    /// The body of a chunked encoding (sizes in hex, extensions and trailers ignored), or
    /// nil while the last chunk has not arrived.
    private static func dechunk(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) -> [UInt8]? {
        var body: [UInt8] = []
        var position = bytes.startIndex
        while true {
            guard let sizeEnd = bytes[position...].firstRange(of: lineEnd) else { return nil }
            let sizeLine = String(decoding: bytes[position..<sizeEnd.lowerBound], as: UTF8.self)
            let sizeText = sizeLine.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .trimmingCharacters(in: .whitespaces)
            guard !sizeText.isEmpty, sizeText.count <= 15, let size = Int(sizeText, radix: 16) else {
                throw HTTPParseError(reason: "bad chunk size '\(sizeLine)'")
            }
            position = sizeEnd.upperBound
            if size == 0 {
                // Trailers, if any, end with an empty line.
                let trailers = bytes[position...]
                if trailers.starts(with: lineEnd) { return body }
                return trailers.firstRange(of: headEnd) == nil ? nil : body
            }
            guard bytes.distance(from: position, to: bytes.endIndex) >= size + 2 else { return nil }
            let dataEnd = bytes.index(position, offsetBy: size)
            body += bytes[position..<dataEnd]
            guard bytes[dataEnd...].starts(with: lineEnd) else {
                throw HTTPParseError(reason: "chunk of \(size) bytes not followed by CRLF")
            }
            position = bytes.index(dataEnd, offsetBy: 2)
        }
    }
}
