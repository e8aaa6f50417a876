/// lbd's answer to `POST /v1/apply`.
struct ApplyResponse: Decodable, Equatable, Sendable {
    /// `ServicePlan`'s text: one line per change, then a count; "no changes" when none.
    let plan: String
    /// False for a dry run, and when there was nothing to change.
    let applied: Bool
}
