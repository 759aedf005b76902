import PGWire
import XCTest
@testable import Archive

/// Changes prepared before their commit: the frame they make reads back as the records and
/// positions that went in, and survives being spooled (encoded, decoded) unchanged.
final class PreparedFrameTests: XCTestCase {
    func change(_ i: Int) -> [UInt8] { [UInt8(ascii: "I")] + Array("row \(i) ".utf8) + [UInt8](repeating: UInt8(i & 0x7F), count: i % 40) }

    func testAPreparedFrameHoldsTheChangesAndPositionsThatWentIn() throws {
        let zstd = Zstd(level: 3)
        var b = PreparedFrameBuilder()
        var lsn = LSN(rawValue: 0x1_0000_0000)
        var expected: [(LSN?, [UInt8])] = []
        for i in 0..<5000 {
            // Positions grow, with a change now and then that has none.
            let at: LSN? = i % 97 == 5 ? nil : lsn
            b.append(change: change(i), relation: i % 3 == 0 ? 16400 : 16500, lsn: at)
            b.indexKey(table: i % 3 == 0 ? "public.a" : "public.b", hash: UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
            expected.append((at, change(i)))
            lsn = LSN(rawValue: lsn.rawValue + UInt64(40 + i % 300))
        }
        b.indexEveryKey(table: "public.keyless")
        let frame = try b.finish(zstd: zstd)
        XCTAssertTrue(b.isEmpty, "the builder starts over")
        XCTAssertEqual(frame.changes, 5000)
        XCTAssertEqual(frame.relations.map(\.oid), [16400, 16500], "in the order they first appear")
        XCTAssertEqual(frame.relations.map(\.changes), [1667, 3333])
        XCTAssertEqual(frame.keys.map(\.table), ["public.a", "public.b"])
        XCTAssertEqual(frame.keys.map(\.hashes.count), [1667, 3333])
        XCTAssertEqual(frame.everyKey, ["public.keyless"])
        XCTAssertEqual(try PreparedFrame.decode(frame.encode()), frame, "a spooled frame reads back unchanged")

        // The payload reads as a segment's records: positions (an `@`, then `+`) before their changes.
        let payload = try frame.payload.withUnsafeBytes { try zstd.decompress($0, rawLength: frame.rawLength) }
        var positions = ChangePositionReader()
        var got: [(LSN?, [UInt8])] = []
        var pending: LSN?
        var deltas = 0
        for range in try recordRanges(payload) {
            let rec = Array(payload[range])
            if LogbookRecordTag.isChangePosition(rec) {
                if rec[0] == LogbookRecordTag.changePositionDelta { deltas += 1 }
                pending = try positions.read(rec, frameOffset: 0)
                continue
            }
            got.append((pending, rec))
            pending = nil
        }
        XCTAssertEqual(got.count, expected.count)
        for (g, e) in zip(got, expected) { XCTAssertEqual(g.0, e.0); XCTAssertEqual(g.1, e.1) }
        XCTAssertGreaterThan(deltas, 4000, "positions after the first are relative")
    }

    func testASmallFrameGivesBackItsRecordsWithAbsolutePositions() throws {
        var b = PreparedFrameBuilder()
        b.append(change: change(1), relation: 1, lsn: LSN(rawValue: 1000))
        b.append(change: change(2), relation: 1, lsn: LSN(rawValue: 1040))
        b.append(change: change(3), relation: 1, lsn: nil)
        let records = try b.takeRecords()
        XCTAssertEqual(records, [ChangePosition.record(LSN(rawValue: 1000)), change(1), ChangePosition.record(LSN(rawValue: 1040)), change(2), change(3)])
        XCTAssertTrue(b.isEmpty)
    }

    func testADamagedSpooledFrameIsAnErrorNotATrap() throws {
        var b = PreparedFrameBuilder()
        b.append(change: change(1), relation: 1, lsn: LSN(rawValue: 1000))
        b.indexKey(table: "public.t", hash: 42)
        let bytes = try b.finish(zstd: Zstd(level: 3)).encode()
        for cut in [0, 3, 9, bytes.count - 1] {
            XCTAssertThrowsError(try PreparedFrame.decode(Array(bytes.prefix(cut))), "cut at \(cut)")
        }
        var long = bytes
        long.append(0)
        XCTAssertThrowsError(try PreparedFrame.decode(long), "a byte after the payload")
        var huge = bytes
        // The key count of the first table (after raw length, raw digest, changes, 1 relation, 1 table, name): far more than the bytes left.
        let at = 4 + 32 + 4 + 4 + 8 + 4 + 4 + "public.t".utf8.count
        huge[at] = 0x7F
        XCTAssertThrowsError(try PreparedFrame.decode(huge), "a key count larger than the bytes")
    }
}
