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

    /// A segment's keys arrive in runs, each folded into a filter of its own when full: memory is about
    /// ten bits per key whatever the size of a transaction, and no key is missed.
    func testKeysFoldedInRunsAreAllFoundAndTheFirstVersionIsStillRead() throws {
        var builder = KeyIndex.Builder(keysPerFilter: 1000)
        for i in 0..<5500 { builder.add(table: "public.t", hash: KeyIndex.hash(key(i))) }
        builder.add(table: "public.u", hash: KeyIndex.hash(key(1)))
        let index = builder.build()
        XCTAssertEqual(index.tables["public.t"]?.filters.count, 6, "five full runs and the rest")
        XCTAssertEqual(index.tables["public.t"]?.keys, 5500)
        XCTAssertEqual(index.tables["public.u"]?.filters.count, 1)
        let decoded = try KeyIndex.decode(index.encode(), path: "test")
        XCTAssertTrue(decoded == index, "read back as written")
        for i in 0..<5500 { XCTAssertTrue(decoded.mayTouch(table: "public.t", hash: KeyIndex.hash(key(i))), "key \(i)") }
        var positives = 0
        for i in 1_000_000..<1_020_000 where decoded.mayTouch(table: "public.t", hash: KeyIndex.hash(key(i))) { positives += 1 }
        XCTAssertLessThan(Double(positives) / 20_000, 0.15, "six filters, each under 3 %")
        let atOnce = KeyIndex(keys: ["public.t": (0..<5500).map { KeyIndex.hash(key($0)) }], everyKey: [], keysPerFilter: 1000)
        XCTAssertTrue(atOnce.tables["public.t"] == index.tables["public.t"], "built at once or as the changes arrive: the same filters")

        // Version 1, as written before runs: one filter per table, no filter count.
        let one = KeyIndex(keys: ["public.t": (0..<300).map { KeyIndex.hash(key($0)) }], everyKey: ["public.v"])
        var v1 = Array("LBKI".utf8) + [1, 0] + [2, 0, 0, 0]
        for name in ["public.t", "public.v"] {
            let t = one.tables[name]!
            v1 += [UInt8(name.utf8.count), 0] + Array(name.utf8) + [t.everyKey ? 1 : 0]
            for v in [t.keys, t.filters[0].count] { v1 += (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
            for w in t.filters[0] { v1 += (0..<8).map { UInt8(truncatingIfNeeded: w >> (8 * UInt64($0))) } }
        }
        XCTAssertTrue(try KeyIndex.decode(v1, path: "v1") == one, "version 1 read as one filter per table")
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
