import NIOCore

/// What an http or https check sends and what it accepts.
///
/// Values are validated when built: each string ends up in a request line or header, so
/// anything that could split or smuggle a line (spaces in the path, CR/LF in a header
/// value) is refused here rather than sent to a backend.
public struct HTTPCheck: Sendable, Hashable {
    /// The headers the checker writes itself; setting them would make the request
    /// ambiguous (two Host headers) or break its framing.
    static let reservedHeaders: Set<String> = ["host", "connection", "content-length", "transfer-encoding"]
    /// `body_contains` is looked for in this many first bytes of the body, as HAProxy
    /// bounds its check buffer: a check must not read an unbounded response.
    public static let bodyScanLimit = 65_536

    public let method: HTTPCheckMethod
    /// Absolute path and query, e.g. `/healthz?full=1`.
    public let path: String
    /// The Host header; without it the backend's address and port are sent.
    public let host: String?
    /// Extra request headers, e.g. an `Authorization` a status endpoint requires.
    public let headers: [String: String]
    public let expectStatus: StatusRanges
    /// A string the first `bodyScanLimit` bytes of the body must contain.
    public let bodyContains: String?
    /// https only: verify the certificate chain and name against the system trust store.
    /// Off by default, since backends often present the VIP's certificate, whose name is
    /// not the backend's address.
    public let verifyTLS: Bool
    /// https only: the TLS server name; without it `host`, when that is a name.
    public let sni: String?

    public init(
        method: HTTPCheckMethod = .get, path: String = "/", host: String? = nil, headers: [String: String] = [:],
        expectStatus: StatusRanges = .default, bodyContains: String? = nil, verifyTLS: Bool = false, sni: String? = nil
    ) throws(HealthCheckConfigError) {
        guard !path.isEmpty else { throw HealthCheckConfigError("path", "path must not be empty") }
        guard path.hasPrefix("/") else {
            throw HealthCheckConfigError("path", "path \"\(path)\" must start with \"/\"")
        }
        guard path.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw HealthCheckConfigError(
                "path", "path \"\(path)\" contains a space, control or non-ASCII character (percent-encode it)")
        }
        if let host { try Self.checkName(host, field: "host") }
        if let sni {
            try Self.checkName(sni, field: "sni")
            guard !sni.isIPAddress else {
                throw HealthCheckConfigError("sni", "sni \"\(sni)\" is an IP address; TLS server names are host names")
            }
        }
        try Self.checkHeaders(headers)
        if let bodyContains {
            guard !bodyContains.isEmpty else {
                throw HealthCheckConfigError("body_contains", "body_contains must not be empty")
            }
            guard method == .get else {
                throw HealthCheckConfigError(
                    "body_contains", "body_contains cannot be used with method HEAD: a HEAD response has no body")
            }
            guard bodyContains.utf8.count <= 1024 else {
                throw HealthCheckConfigError("body_contains", "body_contains is longer than 1024 bytes")
            }
        }
        self.init(
            method: method, path: path, host: host, headers: headers, expectStatus: expectStatus,
            bodyContains: bodyContains, verifyTLS: verifyTLS, sni: sni, validated: ())
    }

    /// GET / accepting 200-399: the check of an http definition built without one.
    static let standard = HTTPCheck(
        method: .get, path: "/", host: nil, headers: [:], expectStatus: .default, bodyContains: nil, verifyTLS: false,
        sni: nil, validated: ())

    private init(
        method: HTTPCheckMethod, path: String, host: String?, headers: [String: String], expectStatus: StatusRanges,
        bodyContains: String?, verifyTLS: Bool, sni: String?, validated: Void
    ) {
        self.method = method
        self.path = path
        self.host = host
        self.headers = headers
        self.expectStatus = expectStatus
        self.bodyContains = bodyContains
        self.verifyTLS = verifyTLS
        self.sni = sni
    }

    /// The name sent in TLS: `sni`, else `host` without a port when it is a name (an IP
    /// literal is not allowed in SNI, RFC 6066 §3).
    var serverName: String? {
        if let sni { return sni }
        guard let host else { return nil }
        let name = host.hostWithoutPort
        return name.isIPAddress ? nil : name
    }

    private static func checkName(_ name: String, field: String) throws(HealthCheckConfigError) {
        guard !name.isEmpty else { throw HealthCheckConfigError(field, "\(field) must not be empty") }
        guard name.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "/" }) else {
            throw HealthCheckConfigError(field, "\(field) \"\(name)\" is not a valid host name")
        }
    }

    private static func checkHeaders(_ headers: [String: String]) throws(HealthCheckConfigError) {
        var seen: Set<String> = []
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            let tokenPunctuation = Set("!#$%&'*+-.^_`|~".unicodeScalars)
            guard !name.isEmpty, name.unicodeScalars.allSatisfy({
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || tokenPunctuation.contains($0))
            }) else {
                throw HealthCheckConfigError("headers", "header \"\(name)\" is not a valid header name")
            }
            let lowercased = name.lowercased()
            guard !reservedHeaders.contains(lowercased) else {
                let hint = lowercased == "host" ? "; use the host field" : ""
                throw HealthCheckConfigError("headers", "header \"\(name)\" is set by the checker\(hint)")
            }
            guard seen.insert(lowercased).inserted else {
                throw HealthCheckConfigError("headers", "header \"\(name)\" is given twice")
            }
            guard !value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                throw HealthCheckConfigError("headers", "header \"\(name)\": the value contains a line break")
            }
        }
    }
}

extension String {
    var isIPAddress: Bool { (try? SocketAddress(ipAddress: self, port: 0)) != nil }

    /// `name` from `name:8080`; an IPv6 literal from `[::1]:8080`.
    var hostWithoutPort: String {
        if hasPrefix("["), let close = firstIndex(of: "]") { return String(self[index(after: startIndex)..<close]) }
        if filter({ $0 == ":" }).count == 1, let colon = firstIndex(of: ":") { return String(self[..<colon]) }
        return self
    }
}
