import XCTest
final class BalancerPlaceholderTests: XCTestCase { func testNothing() {} }
