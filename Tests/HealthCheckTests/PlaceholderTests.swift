import XCTest
final class HealthCheckPlaceholderTests: XCTestCase { func testNothing() {} }
