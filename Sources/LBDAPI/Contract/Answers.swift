/// `POST /v1/apply?dry_run=1|0` with a services YAML body.
public struct ApplyResponse: Codable, Equatable, Sendable {
    /// `ServicePlan`'s text: one line per change, then a count; "no changes" when none.
    public var plan: String
    /// False for a dry run.
    public var applied: Bool

    public init(plan: String, applied: Bool) {
        self.plan = plan
        self.applied = applied
    }
}

/// `POST /v1/reload`, once the configuration file's settings are in force.
public struct ReloadResponse: Codable, Equatable, Sendable {
    /// `key old -> new` for each setting the reload changed.
    public var changed: [String]
    /// Keys that wait for a restart; seed services that differ from the running ones.
    public var notes: [String]

    public init(changed: [String], notes: [String]) {
        self.changed = changed
        self.notes = notes
    }
}

/// `POST /v1/node/drain` and `/v1/node/undrain`: the node's announcement state after it.
public struct NodeResponse: Codable, Equatable, Sendable {
    /// `active`, `draining` or `drained`.
    public var node: String

    public init(node: String) {
        self.node = node
    }
}

/// `POST /v1/edit`, once the edit is saved and in the maps.
public struct EditResponse: Codable, Equatable, Sendable {
    public var ok: Bool

    public init(ok: Bool = true) {
        self.ok = ok
    }
}

/// Every refusal (a status other than 2xx): the reason, one line per problem.
public struct ErrorResponse: Codable, Equatable, Sendable {
    public var error: String

    public init(error: String) {
        self.error = error
    }
}
