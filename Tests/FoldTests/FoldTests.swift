import XCTest
import Archive
import PGWire
@testable import Replay

/// The pieces of replay's fold that must agree with each other: the key read from a change in
/// place and the key read from a base-copy line, and the fast key set against the standard one.
final class FoldTests: XCTestCase {
    func change(_ values: [TupleValue]) throws -> RowChangeView {
        var w = WireWriter()
        w.write(UInt8(ascii: "I")); w.write(UInt32(1)); w.write(UInt8(ascii: "N"))
        TupleData(values).encode(into: &w)
        return try RowChangeView(w.bytes)
    }

    func testAChangeAndABaseLineOfTheSameRowHaveTheSameKey() throws {
        let cases: [[String]] = [["42"], ["-7"], ["007"], ["-0"], ["123456789012345678901"], ["a\tb\\c"], ["x", "9"], ["3", "4"]]
        for key in cases {
            let fold = TableFold(keyColumns: key.indices.map { "k\($0)" })
            try fold.setColumns(key.indices.map { "k\($0)" } + ["v"])
            let view = try change(key.map { .text(Array($0.utf8)) } + [.text(Array("value".utf8))])
            // The same row as COPY text: escaped values, tab-separated.
            let line = Array((key.map { String(decoding: CopyText.escape(Array($0.utf8)), as: UTF8.self) } + ["value"]).joined(separator: "\t").utf8)
            XCTAssertEqual(fold.key(of: view, tuple: view.newTuple!), TableFold.key(ofLine: line[...], keyPositions: Array(key.indices)), "\(key)")
        }
        // Only canonical integers become numbers: "007" and "7" are different keys.
        let fold = TableFold(keyColumns: ["k"])
        try fold.setColumns(["k"])
        let seven = try change([.text(Array("7".utf8))]), padded = try change([.text(Array("007".utf8))])
        XCTAssertEqual(fold.key(of: seven, tuple: seven.newTuple!), .int(7))
        XCTAssertEqual(fold.key(of: padded, tuple: padded.newTuple!), .bytes(Array("007".utf8)))
    }

    /// Many versions of few rows: the arena of images is compacted again and again (a small
    /// threshold here) and every key still ends with its last image, or deleted.
    func testTheFoldAgreesWithADictionaryAcrossCompactions() throws {
        let fold = TableFold(keyColumns: ["k"], compactAfter: 4096)
        try fold.setColumns(["k", "v"])
        var expected: [Int: String] = [:]
        var rng = SystemRandomNumberGenerator()
        func view(_ tag: UInt8, _ k: Int, _ v: String?) throws -> RowChangeView {
            var w = WireWriter()
            w.write(tag); w.write(UInt32(1))
            w.write(UInt8(ascii: tag == UInt8(ascii: "D") ? "K" : "N"))
            TupleData([.text(Array(String(k).utf8)), v.map { .text(Array($0.utf8)) } ?? .null]).encode(into: &w)
            return try RowChangeView(w.bytes)
        }
        for i in 0..<60_000 {
            let k = Int.random(in: 0..<500, using: &rng)
            if i % 11 == 0 {
                try fold.apply(try view(UInt8(ascii: "D"), k, nil))
                expected[k] = nil
            } else {
                let v = String(repeating: "v\(i)-", count: Int.random(in: 1...12, using: &rng))
                try fold.apply(try view(UInt8(ascii: "I"), k, v))
                expected[k] = v
            }
        }
        XCTAssertLessThan(fold.rows.arena.count, 2 * fold.rows.liveBytes + 8192, "compacted: memory follows the keys")
        var got: [Int: String] = [:]
        fold.forEachFinalRow { _, line in
            let f = line.split(separator: CopyText.tab, omittingEmptySubsequences: false)
            got[Int(String(decoding: f[0], as: UTF8.self))!] = String(decoding: f[1], as: UTF8.self)
        }
        XCTAssertEqual(got, expected)
    }

    func testTheKeySetAgreesWithASet() {
        var rng = SystemRandomNumberGenerator()
        var fast = FoldKeySet()
        var plain = Set<FoldKey>()
        XCTAssertTrue(fast.isEmpty)
        for i in 0..<200_000 {
            let k: FoldKey
            switch i % 4 {
            case 0: k = .int(Int64(i))                                   // sequential, as ids are
            case 1: k = .int(Int64.random(in: -999_999_999_999_999_999...999_999_999_999_999_999, using: &rng))
            case 2: k = .int(Int64(i % 1000))                            // repeats
            default: k = .bytes(Array("key\(i % 5000)".utf8))
            }
            fast.insert(k)
            plain.insert(k)
        }
        XCTAssertEqual(fast.count, plain.count)
        for k in plain { XCTAssertTrue(fast.contains(k)) }
        var absent = 0
        for _ in 0..<100_000 {
            let k = FoldKey.int(Int64.random(in: 1_000_000...Int64.max / 2, using: &rng))
            XCTAssertEqual(fast.contains(k), plain.contains(k))
            if !plain.contains(k) { absent += 1 }
        }
        XCTAssertGreaterThan(absent, 0)
        XCTAssertFalse(fast.contains(.bytes(Array("nope".utf8))))
        fast.removeAll()
        XCTAssertEqual(fast.count, 0)
        XCTAssertFalse(fast.contains(.int(0)))
    }

    /// Integers the hash table held move into the bitmap when it widens over them; the set answers
    /// the same before and after, and `insertNew` says what `Set.insert` says.
    func testTheKeySetKeepsItsIntegersWhenTheBitmapWidens() {
        var rng = SystemRandomNumberGenerator()
        var fast = FoldKeySet()
        var plain = Set<Int64>()
        func add(_ v: Int64) { XCTAssertEqual(fast.insertNew(.int(v)), plain.insert(v).inserted, "\(v)") }
        // Far keys first: beyond what the bitmap may take for so few keys, so they are hashed.
        for _ in 0..<2000 { add(Int64.random(in: 20_000_000...60_000_000, using: &rng)) }
        add(-5); add(Int64.max / 3)
        // Dense keys: the bitmap grows, and widens over the far keys once there are enough keys to pay for it.
        for v in 0..<Int64(3_000_000) { add(v) }
        for _ in 0..<20_000 { add(Int64.random(in: 0...70_000_000, using: &rng)) }
        XCTAssertEqual(fast.count, plain.count)
        for v in plain { XCTAssertTrue(fast.contains(.int(v)), "\(v)") }
        for _ in 0..<200_000 {
            let v = Int64.random(in: -10...80_000_000, using: &rng)
            XCTAssertEqual(fast.contains(.int(v)), plain.contains(v), "\(v)")
        }
        for v in plain.prefix(1000) { XCTAssertFalse(fast.insertNew(.int(v)), "\(v) is there already") }
        XCTAssertLessThan(fast.estimatedBytes, 16 * plain.count + 32 << 20, "the bitmap stays within its budget")
    }

    func testKeysSortIntegersFirstThenBytes() {
        let keys: [FoldKey] = [.bytes([0x62]), .int(5), .bytes([0x61]), .int(-3)]
        XCTAssertEqual(keys.sorted(), [.int(-3), .int(5), .bytes([0x61]), .bytes([0x62])])
    }
}
