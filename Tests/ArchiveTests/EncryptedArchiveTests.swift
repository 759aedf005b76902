import Foundation
import XCTest
@testable import Archive
@testable import PGWire

/// Keys travel with the archive folder: two archives with different keys in one process, writers
/// that refuse a missing or other key, and crash recovery that seals what it rewrites.
final class EncryptedArchiveTests: XCTestCase {
    var dirs: [String] = []

    override func tearDown() { for d in dirs { try? FileManager.default.removeItem(atPath: d) } }

    func makeArchive(_ key: ArchiveKey?) throws -> (ArchiveDirectory, ArchiveIdentity) {
        let dir = NSTemporaryDirectory() + "encrypted-archive-test-\(UUID().uuidString)"
        dirs.append(dir)
        let identity = ArchiveIdentity(systemIdentifier: "1", database: "db", slot: "s", publication: "p", createdAt: "now", encryptionKeyID: key?.id)
        let archive = ArchiveDirectory(dir, key: key)
        try archive.create(identity)
        return (archive, identity)
    }

    func randomKey() throws -> ArchiveKey { try ArchiveKey(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) }) }

    func inserts(_ archive: ArchiveDirectory) throws -> [String] {
        let cursor = try ArchiveCursor(archive: archive)
        var out: [String] = []
        while let ev = try cursor.next() {
            if case .change(.insert(let i), _) = ev, case .text(let v) = i.new.values[0] { out.append(String(decoding: v, as: UTF8.self)) }
        }
        return out
    }

    func testTwoArchivesWithDifferentKeysInOneProcess() throws {
        let keyA = try randomKey(), keyB = try randomKey()
        let (a, idA) = try makeArchive(keyA)
        let (b, idB) = try makeArchive(keyB)
        let wa = try SegmentWriter(archive: a, identity: idA)
        let wb = try SegmentWriter(archive: b, identity: idB)
        // Interleaved, as two archivers in one process would write.
        try Fixture.writeTransaction(wa, 100)
        try Fixture.writeTransaction(wb, 200)
        try Fixture.writeTransaction(wa, 300)
        try wa.seal(); try wb.seal()
        XCTAssertEqual(try inserts(a), ["row 100-0", "row 100-1", "row 300-0", "row 300-1"])
        XCTAssertEqual(try inserts(b), ["row 200-0", "row 200-1"])
        // The other archive's key, or none, opens nothing.
        XCTAssertThrowsError(try inserts(ArchiveDirectory(a.root, key: keyB))) { e in
            XCTAssertEqual((e as? ArchiveError)?.code, .key, "\(e)")
        }
        XCTAssertThrowsError(try inserts(ArchiveDirectory(a.root))) { e in
            XCTAssertTrue("\(e)".contains("encrypted"), "\(e)")
        }
        // Every frame but the footer is sealed; the footer is in the clear and tagged.
        let seg = try XCTUnwrap(try a.sealedSegments().first)
        let reader = try FrameFileReader(path: seg, key: nil)
        var kinds: [(FrameKind, Bool, Bool)] = []
        try reader.walkHeaders { _, h in kinds.append((h.kind, h.isEncrypted, h.isAuthenticated)) }
        XCTAssertTrue(kinds.allSatisfy { $0.0 == .footer ? (!$0.1 && $0.2) : $0.1 }, "\(kinds)")
    }

    func testNothingIsWrittenWithoutTheArchivesKey() throws {
        let key = try randomKey()
        let (a, id) = try makeArchive(key)
        for other in [nil, try randomKey()] {
            XCTAssertThrowsError(try SegmentWriter(archive: ArchiveDirectory(a.root, key: other), identity: id)) { e in
                XCTAssertEqual((e as? ArchiveError)?.code, .key, "\(e)")
            }
            let def = TableDefinition(relationOID: 1, schema: "public", name: "t", columns: [], primaryKey: [], replicaIdentity: "d")
            let header = BaseHeader(table: "public.t", lsn: LSN(1), snapshot: "s", reason: "initial", createdAt: "now",
                                    snapshotTime: PGTimestamp(rawValue: 0), definition: def)
            XCTAssertThrowsError(try BaseCopyWriter(archive: ArchiveDirectory(a.root, key: other), header: header)) { e in
                XCTAssertEqual((e as? ArchiveError)?.code, .key, "\(e)")
            }
        }
        // And a key is refused for a clear archive.
        let (clear, clearID) = try makeArchive(nil)
        XCTAssertThrowsError(try SegmentWriter(archive: ArchiveDirectory(clear.root, key: key), identity: clearID))
    }

    /// A crash leaves an open segment whose last frame holds a committed transaction and the start
    /// of another: recovery rewrites that frame and writes a footer, both with the archive's key.
    func testRecoveryOfAnEncryptedSegmentSealsWhatItRewrites() throws {
        let key = try randomKey()
        let (a, id) = try makeArchive(key)
        let w = try SegmentWriter(archive: a, identity: id)
        try Fixture.writeTransaction(w, 100)
        let (b, braw) = Fixture.begin(200)
        try w.beginTransaction(b, raw: braw)
        try w.appendChange(Fixture.insert("never committed"), relations: [1])
        try w.abandon()
        let again = try SegmentWriter(archive: a, identity: id)
        XCTAssertEqual(again.durable?.endLSN, LSN(108))
        XCTAssertEqual(try inserts(a), ["row 100-0", "row 100-1"])
        let seg = try XCTUnwrap(try a.sealedSegments().first)
        let reader = try FrameFileReader(path: seg, key: key)
        var kinds: [(FrameKind, Bool, Bool)] = []
        while let f = try reader.next() { kinds.append((f.header.kind, f.header.isEncrypted, f.header.isAuthenticated)) }
        XCTAssertEqual(kinds.map(\.0), [.fileHeader, .records, .footer])
        XCTAssertTrue(kinds.allSatisfy { $0.0 == .footer ? (!$0.1 && $0.2) : $0.1 }, "\(kinds)")
        XCTAssertEqual(try SegmentScanner.footer(of: seg, key: key).transactions, 1)
        // The chain goes on from the recovered segment.
        try Fixture.writeTransaction(again, 300)
        try again.seal()
        XCTAssertEqual(try inserts(a), ["row 100-0", "row 100-1", "row 300-0", "row 300-1"])
        XCTAssertTrue(try ArchiveView.take(a).problems.isEmpty)
    }

    /// A frame written as its header and payload (no copy of the payload behind the header) is the
    /// frame `encodeFrame` makes whole, in the clear and sealed, and it reads back.
    func testAFrameWrittenInPartsIsTheWholeFrame() throws {
        let raw = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }
        for key in [nil, try randomKey()] {
            let path = NSTemporaryDirectory() + "frame-parts-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: path) }
            let w = try FrameFileWriter(creating: path, key: key, zstd: Zstd())
            try w.writeFrame(.keyIndex, raw: raw)
            try w.sync()
            let written = try Data(contentsOf: URL(fileURLWithPath: path))
            XCTAssertEqual(w.bytesWritten, written.count)
            XCTAssertEqual(w.frameCount, 1)
            let frame = try FrameFileReader(path: path, key: key).frame(at: ArchiveFiles.fileMagic.count, kind: .keyIndex, what: "test")
            XCTAssertEqual(frame.raw, raw, key == nil ? "in the clear" : "sealed")
            if key == nil {
                XCTAssertEqual(Array(written.dropFirst(ArchiveFiles.fileMagic.count)), try FrameFileWriter.encodeFrame(.keyIndex, raw: raw, key: nil, zstd: Zstd()))
            }
        }
    }
}
