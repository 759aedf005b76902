import Foundation
import XCTest
@testable import Archive
@testable import PGWire

/// The watermark (how far the archive is complete) and the fixed view every pass of a command reads.
final class WatermarkTests: XCTestCase {
    var dir: String!
    var archive: ArchiveDirectory!
    let identity = ArchiveIdentity(systemIdentifier: "1", database: "db", slot: "s", publication: "p", createdAt: "now")

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "watermark-test-\(UUID().uuidString)"
        archive = ArchiveDirectory(dir)
        try archive.create(identity)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func fileSize(_ path: String) throws -> Int { (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1 }

    func testAWatermarkIsDurableOnlyAfterTheFlushAndSurvivesASeal() throws {
        let w = try SegmentWriter(archive: archive, identity: identity)
        try Fixture.writeTransaction(w, 1000)
        try w.flush()
        try w.writeWatermark(Watermark(lsn: LSN(2000), time: PGTimestamp(rawValue: 5000)))
        XCTAssertNil(w.durableWatermark, "not durable before the fsync")
        try w.flush()
        XCTAssertEqual(w.durableWatermark, Watermark(lsn: LSN(2000), time: PGTimestamp(rawValue: 5000)))
        // Never backwards, never behind the last commit.
        try w.writeWatermark(Watermark(lsn: LSN(1500), time: PGTimestamp(rawValue: 6000)))
        XCTAssertEqual(w.lastWatermark?.lsn, LSN(2000))
        let view = try ArchiveView.take(archive)
        XCTAssertEqual(view.end.lsn, LSN(2000))
        XCTAssertEqual(view.end.time, PGTimestamp(rawValue: 5000))
        XCTAssertEqual(view.end.commitEnd, LSN(1008))
        try w.seal()
        let sealed = try ArchiveView.take(archive)
        XCTAssertEqual(sealed.end, view.end, "the footer keeps the watermark")
        XCTAssertEqual(try SegmentWriter(archive: archive, identity: identity).durableWatermark?.lsn, LSN(2000))
    }

    /// A watermark written at a stop carries a later position and the time already known: the
    /// view's end must move to it, or the next start finds the slot (confirmed there) ahead of the
    /// archive.
    func testAPositionOnlyWatermarkWithTheSameTimeMovesTheEnd() throws {
        let w = try SegmentWriter(archive: archive, identity: identity)
        try Fixture.writeTransaction(w, 1000)
        try w.writeWatermark(Watermark(lsn: LSN(2000), time: PGTimestamp(rawValue: 5000)))
        try w.flush()
        try w.writeWatermark(Watermark(lsn: LSN(3000), time: PGTimestamp(rawValue: 5000)))
        try w.flush()
        XCTAssertEqual(w.durableWatermark?.lsn, LSN(3000))
        XCTAssertEqual(try ArchiveView.take(archive).end.lsn, LSN(3000), "open segment")
        try w.seal()
        XCTAssertEqual(try ArchiveView.take(archive).end.lsn, LSN(3000), "sealed")
        // Across segments too: a new writer's first watermark, later position, same time.
        let next = try SegmentWriter(archive: archive, identity: identity)
        try next.writeWatermark(Watermark(lsn: LSN(4000), time: PGTimestamp(rawValue: 5000)))
        try next.flush()
        try next.seal()
        XCTAssertEqual(try ArchiveView.take(archive).end.lsn, LSN(4000))
        XCTAssertEqual(try ArchiveView.take(archive).end.time, PGTimestamp(rawValue: 5000))
    }

    /// A crash right after a commit frame, before the watermark frame reached the disk: the next
    /// start finds the last commit and no watermark past it.
    func testACrashBeforeTheWatermarkFrameIsDurableNeverMovesItForward() throws {
        let w = try SegmentWriter(archive: archive, identity: identity)
        try Fixture.writeTransaction(w, 1000)
        try w.flush()
        let open = try XCTUnwrap(try archive.openSegments().first)
        let durableBytes = try fileSize(open)
        try w.writeWatermark(Watermark(lsn: LSN(9000), time: PGTimestamp(rawValue: 9000)))
        XCTAssertGreaterThan(try fileSize(open), durableBytes)
        // Power lost: what was not fsynced is gone, a torn piece of the watermark frame may remain.
        let fd = open.withCString { Glibc.open($0, O_WRONLY) }
        XCTAssertEqual(ftruncate(fd, off_t(durableBytes + 10)), 0)
        close(fd)
        let again = try SegmentWriter(archive: archive, identity: identity)
        XCTAssertNil(again.durableWatermark)
        XCTAssertEqual(again.durable?.endLSN, LSN(1008))
        let view = try ArchiveView.take(archive)
        XCTAssertEqual(view.end.lsn, LSN(1008), "the archive ends at its last durable commit")
        XCTAssertNil(view.end.watermark)
    }

    /// A process killed after the watermark frame was written (it is in the file): recovery keeps
    /// it, since everything before it is in the file too.
    func testRecoveryKeepsAWholeWatermarkFrame() throws {
        let w = try SegmentWriter(archive: archive, identity: identity)
        try Fixture.writeTransaction(w, 1000)
        try w.flush()
        try w.writeWatermark(Watermark(lsn: LSN(3000), time: PGTimestamp(rawValue: 7000)))
        // No flush, no seal: the writer is dropped as a kill -9 would leave it.
        let again = try SegmentWriter(archive: archive, identity: identity)
        XCTAssertEqual(again.durableWatermark, Watermark(lsn: LSN(3000), time: PGTimestamp(rawValue: 7000)))
        XCTAssertEqual(again.durable?.endLSN, LSN(1008))
    }

    /// A view is fixed: transactions appended after it was taken are not read, and one that was
    /// half written when it was taken is not read either.
    func testAViewIgnoresWhatIsAppendedAfterIt() throws {
        let w = try SegmentWriter(archive: archive, identity: identity)
        try Fixture.writeTransaction(w, 1000)
        try w.flush()
        // Half a transaction reaches the file (frames are written before the commit of a large one).
        let (b, braw) = Fixture.begin(2000)
        try w.beginTransaction(b, raw: braw)
        try w.appendChange(Fixture.insert("half"), relations: [1])
        try w.writeFrame()
        let view = try ArchiveView.take(archive)
        let (c, craw) = Fixture.commit(2000)
        try w.commitTransaction(c, raw: craw)
        try Fixture.writeTransaction(w, 3000)
        try w.flush()
        try w.seal()
        XCTAssertEqual(view.end.lsn, LSN(1008))
        let cursor = ArchiveCursor(view: view)
        var begins: [LSN] = []
        while let ev = try cursor.next() { if case .begin(let b) = ev { begins.append(b.finalLSN) } }
        // The half transaction's Begin is in the view's bytes; readers stop at the view's end.
        XCTAssertEqual(begins.filter { $0 < view.end.lsn! }, [LSN(1000)])
        XCTAssertFalse(begins.contains(LSN(3000)), "a transaction appended after the view is not read")
        XCTAssertEqual(try ArchiveView.take(archive).end.lsn, LSN(3008))
    }
}
