/// lbd's answer to `POST /v1/apply`.
struct ApplyResponse: Decodable, Equatable, Sendable {
    /// `ServicePlan`'s text: one line per change, then a count; "no changes" when none.
    let plan: String
    /// False for a dry run, and when there was nothing to change.
    let applied: Bool
    /// VIPs not in the file that lbd keeps (apply without prune).
    let kept: [String]?
    /// The services' version the plan was made against (dry run), or after the apply.
    let version: String?
}
