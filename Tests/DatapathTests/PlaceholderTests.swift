import XCTest
final class DatapathPlaceholderTests: XCTestCase { func testNothing() {} }
