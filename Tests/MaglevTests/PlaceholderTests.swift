import XCTest
final class MaglevPlaceholderTests: XCTestCase { func testNothing() {} }
