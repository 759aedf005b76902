import XCTest
final class PlaceholderP: XCTestCase { func testNothing() {} }
