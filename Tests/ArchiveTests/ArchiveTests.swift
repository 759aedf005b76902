import Foundation
import XCTest
@testable import Archive
@testable import PGWire

final class ArchiveTests: XCTestCase {
    var dir: String!
    var archive: ArchiveDirectory!
    let identity = ArchiveIdentity(systemIdentifier: "1", database: "db", slot: "s", publication: "p", createdAt: "now")

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "archive-test-\(UUID().uuidString)"
        archive = ArchiveDirectory(dir)
        try archive.create(identity)
    }

    override func tearDown() {
        FileIO.faultInjector = nil
        try? FileManager.default.removeItem(atPath: dir)
    }

    func begin(_ lsn: UInt64) -> (BeginMessage, [UInt8]) { Fixture.begin(lsn) }
    func commit(_ lsn: UInt64) -> (CommitMessage, [UInt8]) { Fixture.commit(lsn) }
    func insert(_ v: String) -> [UInt8] { Fixture.insert(v) }
    func writeTransaction(_ writer: SegmentWriter, _ lsn: UInt64, rows: Int = 2) throws { try Fixture.writeTransaction(writer, lsn, rows: rows) }

    func countCommits() throws -> Int {
        let cursor = try ArchiveCursor(archive: archive)
        var n = 0
        while let ev = try cursor.next() { if case .commit = ev { n += 1 } }
        return n
    }

    func testCRC32CCheckValue() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
    }

    func testWrittenTransactionsReadBackAndTheFooterSummarises() throws {
        let writer = try SegmentWriter(archive: archive, identity: identity)
        let def = TableDefinition(relationOID: 1, schema: "public", name: "t", columns: [], primaryKey: [], replicaIdentity: "d")
        writer.defineRelation(1, table: "public.t", records: [[LogbookRecordTag.tableDefinition] + (try JSONEncoder().encode(def))])
        for lsn in [100, 200, 300] as [UInt64] { try writeTransaction(writer, lsn) }
        XCTAssertEqual(try writer.flush()?.endLSN, LSN(308))
        try writer.seal()
        let segs = try archive.sealedSegments()
        XCTAssertEqual(segs.map { ($0 as NSString).lastPathComponent }, ["0000000000000064.seg"])
        let footer = try SegmentScanner.footer(of: segs[0], key: nil)
        XCTAssertEqual(footer.transactions, 3)
        XCTAssertEqual(footer.changes, 6)
        XCTAssertEqual(footer.tables, ["public.t"])
        XCTAssertEqual(footer.last?.endLSN, LSN(308))
        XCTAssertEqual(try countCommits(), 3)
    }

    /// A segment of more keys than one filter holds writes each full filter as a part of its key
    /// index as soon as it is full (memory stays flat); the footer lists every part, readers of
    /// changes pass over them, and every key is found in the parts merged.
    func testTheKeyIndexOfALargeSegmentIsWrittenInPartsAndEveryKeyIsFound() throws {
        var options = SegmentWriter.Options()
        options.frameBytes = 4096
        options.keysPerIndexFilter = 1000
        let writer = try SegmentWriter(archive: archive, identity: identity, options: options)
        func hash(_ i: Int) -> UInt64 { KeyIndex.hash([Array(String(i).utf8)[...]]) }
        var n = 0
        for t in 0..<10 {
            let lsn = UInt64(1000 + t * 1000)
            let (b, braw) = Fixture.begin(lsn)
            try writer.beginTransaction(b, raw: braw)
            for _ in 0..<550 {
                try writer.appendChange(Fixture.insert("row \(n)"), relations: [1])
                writer.indexKey(table: "public.t", hash: hash(n))
                n += 1
            }
            let (c, craw) = Fixture.commit(lsn)
            try writer.commitTransaction(c, raw: craw)
        }
        try writer.seal()
        let seg = try XCTUnwrap(try archive.sealedSegments().first)
        let footer = try SegmentScanner.footer(of: seg, key: nil)
        XCTAssertNil(footer.keyIndexOffset, "a reader that knows only one index frame reads the segment in full")
        let parts = try XCTUnwrap(footer.keyIndexOffsets)
        XCTAssertEqual(parts.count, 6, "five full filters written as they filled, then the rest at the seal")
        let index = try KeyIndex.read(segment: seg, at: try XCTUnwrap(footer.keyIndexFrames), key: nil)
        XCTAssertEqual(index.tables["public.t"]?.keys, 5500)
        XCTAssertEqual(index.tables["public.t"]?.filters.count, 6)
        for i in 0..<5500 { XCTAssertTrue(index.mayTouch(table: "public.t", hash: hash(i)), "key \(i)") }
        XCTAssertEqual(try countCommits(), 10, "the parts between the records frames are passed over")
        XCTAssertEqual(footer.changes, 5500)
    }

    func testChangePositionsReadBackAcrossFramesAndARelativeOneWithoutABaseIsRefused() throws {
        var options = SegmentWriter.Options()
        options.frameBytes = 200   // several frames per transaction: each starts from an absolute position
        let writer = try SegmentWriter(archive: archive, identity: identity, options: options)
        var written: [LSN] = []
        for t in 0..<3 {
            let base = UInt64(1_000_000 * (t + 1))
            let (b, braw) = begin(base + 900_000)
            try writer.beginTransaction(b, raw: braw)
            for i in 0..<40 {
                // Steps small and large, a varint of one to four bytes.
                let lsn = LSN(base + UInt64(i * i * i * 9))
                written.append(lsn)
                try writer.appendChange(insert("row \(t)-\(i)"), relations: [1], lsn: lsn)
            }
            let (c, craw) = commit(base + 900_000)
            try writer.commitTransaction(c, raw: craw)
        }
        try writer.seal()
        let cursor = try ArchiveCursor(archive: archive)
        var read: [LSN] = []
        while let ev = try cursor.next() { if case .change = ev, let l = cursor.changeLSN { read.append(l) } }
        XCTAssertEqual(read, written)

        var positions = ChangePositionReader()
        XCTAssertThrowsError(try positions.read(ChangePosition.deltaRecord(LSN(10), after: LSN(4)), frameOffset: 0), "a + with no @ before it")
        XCTAssertEqual(try positions.read(ChangePosition.record(LSN(4)), frameOffset: 7), LSN(4))
        XCTAssertEqual(try positions.read(ChangePosition.deltaRecord(LSN(300), after: LSN(4)), frameOffset: 7), LSN(300))
        XCTAssertThrowsError(try positions.read(ChangePosition.deltaRecord(LSN(400), after: LSN(300)), frameOffset: 9), "a + counts within its frame only")
        XCTAssertThrowsError(try positions.read([LogbookRecordTag.changePositionDelta, 0x80], frameOffset: 7), "a varint that does not end")
    }

    func testAFlippedByteIsReportedWithItsFileAndOffset() throws {
        let writer = try SegmentWriter(archive: archive, identity: identity)
        try writeTransaction(writer, 100, rows: 50)
        try writer.seal()
        let path = try archive.sealedSegments()[0]
        var bytes = try FileIO.readFile(path)
        bytes[300] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try countCommits()) { e in
            let a = e as! ArchiveError
            XCTAssertEqual(a.code, .corrupt)
            XCTAssertEqual(a.path, path)
            XCTAssertNotNil(a.offset)
            XCTAssertTrue(a.description.contains("checksum mismatch") || a.description.contains("bad frame header"), a.description)
        }
    }

    func testRecoveryCutsATornFrameAndAnUnfinishedTransaction() throws {
        var writer: SegmentWriter? = try SegmentWriter(archive: archive, identity: identity)
        try writeTransaction(writer!, 100)
        try writeTransaction(writer!, 200)
        try writer!.flush()
        // A third transaction begun but never committed, written out, then the process "dies".
        let (b, braw) = begin(300)
        try writer!.beginTransaction(b, raw: braw)
        try writer!.appendChange(insert("never committed"), relations: [1])
        try writer!.abandon()
        writer = nil
        // And the tail of the file is torn as well.
        let partial = try archive.openSegments()[0]
        let fh = FileHandle(forUpdatingAtPath: partial)!
        let size = try fh.seekToEnd()
        try fh.write(contentsOf: Data([0x4C, 0x42, 0x46])) // the start of a frame that never finished
        try fh.close()
        XCTAssertGreaterThan(size, 0)

        let reopened = try SegmentWriter(archive: archive, identity: identity)
        XCTAssertEqual(reopened.durable?.endLSN, LSN(208), "the last complete transaction is the durable position")
        XCTAssertTrue(try archive.openSegments().isEmpty, "the interrupted segment is sealed by recovery")
        XCTAssertEqual(try countCommits(), 2)
        // Writing goes on in a new segment after it.
        try writeTransaction(reopened, 300)
        try reopened.flush()
        XCTAssertEqual(try countCommits(), 3)
    }

    func testRecoveryKeepsTheCommittedPartOfAFrameThatAlsoHoldsAnUnfinishedTransaction() throws {
        let writer = try SegmentWriter(archive: archive, identity: identity)
        try writeTransaction(writer, 100)
        let (b, braw) = begin(200)
        try writer.beginTransaction(b, raw: braw)
        try writer.appendChange(insert("never committed"), relations: [1])
        try writer.abandon() // one frame: B C of 100, then B I of 200
        _ = try SegmentWriter(archive: archive, identity: identity)
        XCTAssertEqual(try countCommits(), 1)
        let cursor = try ArchiveCursor(archive: archive)
        var inserts = 0
        while let ev = try cursor.next() { if case .change = ev { inserts += 1 } }
        XCTAssertEqual(inserts, 2, "only the committed transaction's rows remain")
    }

    func testAFullDiskEndsInOneLineThatNamesTheFix() throws {
        let writer = try SegmentWriter(archive: archive, identity: identity)
        try writeTransaction(writer, 100)
        FileIO.faultInjector = { call, _ in call == .write ? ENOSPC : nil }
        XCTAssertThrowsError(try writer.flush()) { e in
            let a = e as! ArchiveError
            XCTAssertEqual(a.code, .io)
            XCTAssertTrue(a.description.contains("free disk space"), a.description)
        }
        XCTAssertNil(writer.durable, "nothing is reported durable after a failed write")
    }

    func testBaseCopyRoundTrip() throws {
        let def = TableDefinition(relationOID: 1, schema: "public", name: "t", columns: [], primaryKey: [], replicaIdentity: "d")
        let header = BaseHeader(table: "public.t", lsn: LSN(50), snapshot: "snap", reason: "initial", createdAt: "now",
                                snapshotTime: PGTimestamp(rawValue: 1), definition: def)
        let w = try BaseCopyWriter(archive: archive, header: header, frameBytes: 16)
        let rows = (0..<100).map { "\($0)\tvalue \($0)\n" }.joined()
        for line in rows.split(separator: "\n") { try Array((line + "\n").utf8).withUnsafeBytes { try w.append($0) } }
        let path = try w.finish()
        let r = try BaseCopyReader(path: path, key: nil)
        XCTAssertEqual(r.header.lsn, LSN(50))
        var back: [UInt8] = []
        while let c = try r.nextChunk() { back += c }
        XCTAssertEqual(String(decoding: back, as: UTF8.self), rows)
        XCTAssertEqual(r.footer?.rows, 100)
    }

    func testABaseCopyWithoutItsFooterIsRefused() throws {
        let def = TableDefinition(relationOID: 1, schema: "public", name: "t", columns: [], primaryKey: [], replicaIdentity: "d")
        let header = BaseHeader(table: "public.t", lsn: LSN(50), snapshot: "s", reason: "initial", createdAt: "now",
                                snapshotTime: PGTimestamp(rawValue: 1), definition: def)
        let w = try BaseCopyWriter(archive: archive, header: header, frameBytes: 4)
        try Array("1\n2\n".utf8).withUnsafeBytes { try w.append($0) }
        let path = try w.finish()
        // Cut the footer frame off.
        let fr = try FrameFileReader(path: path, key: nil)
        var lastOffset = 0
        while let f = try fr.next() { if f.header.kind == .footer { lastOffset = f.offset } }
        let fh = FileHandle(forUpdatingAtPath: path)!
        try fh.truncate(atOffset: UInt64(lastOffset))
        try fh.close()
        let r = try BaseCopyReader(path: path, key: nil)
        XCTAssertThrowsError(try { while try r.nextChunk() != nil {} }()) { e in
            XCTAssertTrue("\(e)".contains("without its footer"), "\(e)")
        }
    }
}
