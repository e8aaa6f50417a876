/// A configuration block read field by field, turning the decoder's type errors into
/// `HealthCheckConfigError`s that name the field and the expected form
/// ("rise: expected an integer") instead of a coding path dump.
struct ConfigFields {
    private let container: KeyedDecodingContainer<ConfigKey>
    /// The keys the block holds, all known.
    let present: [String]

    init(_ decoder: any Decoder, known: Set<String>) throws {
        container = try decoder.container(keyedBy: ConfigKey.self)
        present = container.allKeys.map(\.stringValue)
        if let unknown = present.sorted().first(where: { !known.contains($0) }) {
            throw HealthCheckConfigError(unknown, "unknown field \"\(unknown)\"")
        }
    }

    func string(_ field: String) throws -> String? {
        try value(field, String.self, expected: "a string")
    }

    func integer(_ field: String) throws -> Int? {
        try value(field, Int.self, expected: "an integer")
    }

    func number(_ field: String) throws -> Double? {
        try value(field, Double.self, expected: "a number")
    }

    func bool(_ field: String) throws -> Bool? {
        try value(field, Bool.self, expected: "true or false")
    }

    func headers(_ field: String) throws -> [String: String]? {
        try value(field, [String: String].self, expected: "a map of header names to values")
    }

    func duration(_ field: String) throws -> Duration? {
        guard let text = try value(field, String.self, expected: "a duration such as 500ms, 2s or 1m") else {
            return nil
        }
        return try DurationText.parse(text, field: field)
    }

    func startState(_ field: String) throws -> HealthStatus? {
        guard let text = try string(field) else { return nil }
        guard let state = HealthStatus(rawValue: text) else {
            throw HealthCheckConfigError(field, "\(field) \"\(text)\" is not one of up, down")
        }
        return state
    }

    func route(_ field: String) throws -> HealthCheckDefinition.Route? {
        guard let text = try string(field) else { return nil }
        guard let route = HealthCheckDefinition.Route(rawValue: text) else {
            throw HealthCheckConfigError(field, "\(field) \"\(text)\" is not one of tunnel, direct")
        }
        return route
    }

    func method(_ field: String) throws -> HTTPCheckMethod? {
        guard let text = try string(field) else { return nil }
        guard let method = HTTPCheckMethod(rawValue: text.uppercased()) else {
            throw HealthCheckConfigError(field, "\(field) \"\(text)\" is not one of GET, HEAD")
        }
        return method
    }

    /// `200`, `"200-399,404"` or a list of codes and such strings.
    func statusRanges(_ field: String) throws -> StatusRanges? {
        guard let spelling = try value(field, StatusSpelling.self, expected: "status codes or ranges such as 200-399")
        else { return nil }
        return try StatusRanges(parsing: spelling.items)
    }

    private func value<T: Decodable>(_ field: String, _ type: T.Type, expected: String) throws -> T? {
        let key = ConfigKey(field)
        guard container.contains(key) else { return nil }
        do {
            return try container.decode(T.self, forKey: key)
        } catch is DecodingError {
            throw HealthCheckConfigError(field, "\(field): expected \(expected)")
        }
    }
}

/// `expect_status` as written: one code, one string, or a list of codes and strings.
private struct StatusSpelling: Decodable {
    let items: [String]

    init(from decoder: any Decoder) throws {
        if let single = try? Self.item(decoder.singleValueContainer()) {
            items = [single]
            return
        }
        var list = try decoder.unkeyedContainer()
        var items: [String] = []
        while !list.isAtEnd {
            if let code = try? list.decode(Int.self) {
                items.append(String(code))
            } else {
                items.append(try list.decode(String.self))
            }
        }
        self.items = items
    }

    private static func item(_ container: any SingleValueDecodingContainer) throws -> String {
        if let code = try? container.decode(Int.self) { return String(code) }
        return try container.decode(String.self)
    }
}
