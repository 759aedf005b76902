import XCTest
@testable import Archive

/// The segments' key index: never a miss, few false positives, and damage read as an error.
final class KeyIndexTests: XCTestCase {
    func key(_ i: Int) -> [ArraySlice<UInt8>?] { [Array(String(i).utf8)[...], Array("driver-\(i % 97)".utf8)[...]] }

    func testEveryKeyIsFoundAndFewOthersAre() throws {
        var rng = SystemRandomNumberGenerator()
        for size in [1, 10, 1000, 50_000] {
            let inserted = (0..<size).map { _ in Int.random(in: 0..<1_000_000_000, using: &rng) }
            let index = KeyIndex(keys: ["public.t": inserted.map { KeyIndex.hash(key($0)) }], everyKey: [])
            let decoded = try KeyIndex.decode(index.encode(), path: "test")
            XCTAssertEqual(decoded, index)
            for k in inserted { XCTAssertTrue(decoded.mayTouch(table: "public.t", hash: KeyIndex.hash(key(k))), "key \(k) of \(size)") }
            let present = Set(inserted)
            var positives = 0, tried = 0
            while tried < 20_000 {
                let k = Int.random(in: 1_000_000_000..<2_000_000_000, using: &rng)
                guard !present.contains(k) else { continue }
                tried += 1
                if decoded.mayTouch(table: "public.t", hash: KeyIndex.hash(key(k))) { positives += 1 }
            }
            XCTAssertLessThan(Double(positives) / Double(tried), 0.03, "false positives at \(size) keys")
            XCTAssertFalse(decoded.mayTouch(table: "public.other", hash: KeyIndex.hash(key(inserted[0]))), "a table the segment does not touch")
        }
    }

    func testNullsAndOrderAreDistinctAndEveryKeyTablesMatchAll() {
        XCTAssertNotEqual(KeyIndex.hash([nil]), KeyIndex.hash([[][...]]), "NULL is not the empty string")
        XCTAssertNotEqual(KeyIndex.hash([Array("a".utf8)[...], Array("b".utf8)[...]]), KeyIndex.hash([Array("b".utf8)[...], Array("a".utf8)[...]]))
        XCTAssertNotEqual(KeyIndex.hash([Array("ab".utf8)[...], Array("c".utf8)[...]]), KeyIndex.hash([Array("a".utf8)[...], Array("bc".utf8)[...]]))
        let truncated = KeyIndex(keys: [:], everyKey: ["public.t"])
        XCTAssertTrue(truncated.mayTouch(table: "public.t", hash: 12345))
    }

    func testDamagedIndexesThrowAndNeverTrap() {
        let good = KeyIndex(keys: ["public.t": (0..<100).map { KeyIndex.hash(key($0)) }], everyKey: []).encode()
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var b = good
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: b = Array(b.prefix(Int.random(in: 0..<b.count, using: &rng)))
            case 1: let i = Int.random(in: 0..<min(b.count, 40), using: &rng); b[i] ^= UInt8.random(in: 1...255, using: &rng)
            default: b += (0..<Int.random(in: 1..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            _ = try? KeyIndex.decode(b, path: "test")
        }
        XCTAssertThrowsError(try KeyIndex.decode(Array(good.prefix(20)), path: "x"))
        XCTAssertThrowsError(try KeyIndex.decode([0x4C, 0x42, 0x4B, 0x49, 1, 0, 1, 0, 0, 0, 255, 255], path: "x"))
    }
}
