import XCTest
final class PlaceholderA: XCTestCase { func testNothing() {} }
