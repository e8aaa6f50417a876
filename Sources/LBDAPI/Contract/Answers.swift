/// `POST /v1/apply?dry_run=1|0&prune=1|0&if_version=V` with a services YAML body.
public struct ApplyResponse: Codable, Equatable, Sendable {
    /// `ServicePlan`'s text: one line per change, then a count; "no changes" when none.
    public var plan: String
    /// The plan for scripts: VIPs added, removed and changed (backends, weights, settings),
    /// each in VIP order; nil from an older lbd.
    public var added: [String]?
    public var removed: [String]?
    public var changed: [String]?
    /// False for a dry run.
    public var applied: Bool
    /// VIPs not in the file, left as they are (`prune=0`), in VIP order.
    public var kept: [String]?
    /// The services' version the plan was made against (dry run), or after the apply.
    public var version: String?

    public init(plan: String, added: [String]? = nil, removed: [String]? = nil, changed: [String]? = nil,
                applied: Bool, kept: [String]? = nil, version: String? = nil) {
        self.plan = plan
        self.added = added
        self.removed = removed
        self.changed = changed
        self.applied = applied
        self.kept = kept
        self.version = version
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
    /// False when the state already was as asked (a retried request); nil from an older lbd.
    public var changed: Bool?
    /// The services' version after the edit.
    public var version: String?

    public init(ok: Bool = true, changed: Bool? = nil, version: String? = nil) {
        self.ok = ok
        self.changed = changed
        self.version = version
    }
}

/// Every refusal (a status other than 2xx): the reason, one line per problem, and for
/// the refusals a client acts on differently, a `code` (`ErrorCode`).
public struct ErrorResponse: Codable, Equatable, Sendable {
    public var error: String
    public var code: String?

    public init(error: String, code: String? = nil) {
        self.error = error
        self.code = code
    }
}

/// `ErrorResponse.code`s.
public enum ErrorCode {
    /// 500: the change is saved, a datapath write failed and is retried: do not repeat it.
    public static let datapathPending = "datapath_pending"
    /// 409: an apply's `if_version` is not the services' version any more.
    public static let stateChanged = "state_changed"
}
