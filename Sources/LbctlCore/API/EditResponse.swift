/// lbd's answer to `POST /v1/edit`.
struct EditResponse: Decodable, Equatable, Sendable {
    /// False when the state already was as asked (a retried request); absent from an lbd
    /// that does not tell, which changed it.
    let changed: Bool?
    let version: String?
}
