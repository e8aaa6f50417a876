/// lbd's answer to `POST /v1/reload`.
struct ReloadResponse: Decodable, Equatable, Sendable {
    /// `key old -> new` for each setting the reload changed.
    let changed: [String]
    /// Keys that wait for a restart; seed services that differ from the running ones.
    let notes: [String]
}
