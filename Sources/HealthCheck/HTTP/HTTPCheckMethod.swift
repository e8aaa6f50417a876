/// The request methods a check may send. GET reads the body (for `body_contains`);
/// HEAD asks the application the same question without transferring it.
public enum HTTPCheckMethod: String, Sendable, Hashable, CaseIterable {
    case get = "GET"
    case head = "HEAD"
}
