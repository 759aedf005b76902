import Archive
import Foundation
import History
import Operate
import PGWire
import Replay
import XCTest

/// Sealed segments rewritten at a higher zstd level: fewer bytes, the same frames, every restore
/// the same, the hash chain whole and still binding what was rewritten.
final class RecompressionTests: XCTestCase {
    func history(_ box: Sandbox, id: Int) throws -> [HistoryEntry] {
        try RowHistory.run(HistoryQuery(archive: box.archive, table: "public.t", key: [("id", String(id))]), logger: box.logger).entries
    }

    func testRecompressedSegmentsKeepTheChainEveryRestoreAndTheirKeyIndexes() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text, doc jsonb, note text)")
            _ = try box.captureToNow(["public.t"])
            try box.sql("INSERT INTO t SELECT g, 'driver ' || g, jsonb_build_object('status', 'on duty', 'odometer', g * 7), NULL FROM generate_series(1, 3000) g")
            _ = try box.captureToNow(["public.t"])
            try box.sql("UPDATE t SET v = v || ' corrected', note = repeat('remark ' || id, 400) WHERE id % 3 = 0")   // TOASTed notes
            _ = try box.captureToNow(["public.t"])
            // One transaction larger than logical_decoding_work_mem: streamed, its frames prepared before the commit.
            try box.sql("INSERT INTO t SELECT g, 'bulk ' || g, jsonb_build_object('status', 'off duty'), NULL FROM generate_series(3001, 40000) g")
            let mid = try box.currentLSN()
            _ = try box.captureToNow(["public.t"]) { $0.source += " options='-c logical_decoding_work_mem=64kB'" }
            try box.sql("DELETE FROM t WHERE id BETWEEN 100 AND 200; UPDATE t SET doc = doc || '{\"edited\": true}' WHERE id = 42")
            _ = try box.captureToNow(["public.t"])

            let dir = ArchiveDirectory(box.archive)
            let before = try dir.sealedSegments().map { try SegmentScanner.footer(of: $0, key: nil) }
            XCTAssertTrue(before.allSatisfy { $0.contentSHA256 != nil }, "every segment sealed with a content hash")
            let bytesBefore = try dir.sealedSegments().reduce(0) { $0 + (try FileManager.default.attributesOfItem(atPath: $1)[.size] as! Int) }
            let historyBefore = try history(box, id: 42)
            XCTAssertGreaterThanOrEqual(historyBefore.count, 2)
            let midTarget = try box.scratchDatabase("mid_before")
            _ = try Replayer(ReplayRequest(archive: box.archive, table: "public.t", point: .lsn(mid),
                                           destination: .database(conninfo: midTarget, into: nil, replace: false)), logger: box.logger).run()

            // Recompressed in the background job, all of them; a second pass finds nothing to do.
            XCTAssertEqual(try Recompression.candidates(dir, level: 19).count, before.count)
            let scheduler = RecompressionScheduler(archive: box.archive, level: 19, logger: box.logger)
            XCTAssertEqual(scheduler.runIfDue(), before.count)
            XCTAssertEqual(try Recompression.candidates(dir, level: 19), [])
            let after = try dir.sealedSegments().map { try SegmentScanner.footer(of: $0, key: nil) }
            let bytesAfter = try dir.sealedSegments().reduce(0) { $0 + (try FileManager.default.attributesOfItem(atPath: $1)[.size] as! Int) }
            XCTAssertLessThan(bytesAfter, bytesBefore, "level 19 takes fewer bytes than capture's level 3")
            for (b, a) in zip(before, after) {
                XCTAssertEqual(a.contentSHA256, b.contentSHA256, "the same frames")
                XCTAssertEqual(a.chainSHA256, b.sha256, "known in the chain by its hash as sealed")
                XCTAssertNotEqual(a.sha256, b.sha256)
                XCTAssertEqual(a.recompressed?.level, 19)
                XCTAssertEqual(a.keyIndexFrames?.count, b.keyIndexFrames?.count)
            }
            var report = try ArchiveVerifier.verify(archive: box.archive)
            XCTAssertTrue(report.ok, "\(report.problems)")
            let keyless = try KeylessVerifier.verify(archive: box.archive)
            XCTAssertTrue(keyless.ok, "\(keyless.problems)")

            // Every restore the same: latest, mid-way, and the row's history through the key indexes.
            try box.assertLatestReplayEqualsLive("t", "latest, from recompressed segments")
            let midAfter = try box.scratchDatabase("mid_after")
            _ = try Replayer(ReplayRequest(archive: box.archive, table: "public.t", point: .lsn(mid),
                                           destination: .database(conninfo: midAfter, into: nil, replace: false)), logger: box.logger).run()
            assertSameRows(try box.dump("t", on: midAfter), try box.dump("t", on: midTarget), "mid-way, before and after recompression")
            let h = try RowHistory.run(HistoryQuery(archive: box.archive, table: "public.t", key: [("id", "42")]), logger: box.logger)
            XCTAssertEqual(h.entries, historyBefore)
            XCTAssertEqual(h.warnings, [], "the key indexes are found where the rewritten footers say")

            // Archiving goes on after them: the next segment chains to a recompressed one.
            try box.sql("INSERT INTO t VALUES (50001, 'after', '{}', NULL)")
            _ = try box.captureToNow(["public.t"])
            let newest = try SegmentScanner.footer(of: try XCTUnwrap(try dir.sealedSegments().last), key: nil)
            XCTAssertEqual(newest.previousContentSHA256, after.last?.contentSHA256)
            report = try ArchiveVerifier.verify(archive: box.archive)
            XCTAssertTrue(report.ok, "\(report.problems)")
            try box.assertLatestReplayEqualsLive("t", "latest, after archiving on")

            // A recompressed segment replaced by other content, its own hashes made to match and its
            // sealed hash kept: the next segment names its content, so the chain breaks there.
            let all = try dir.sealedSegments()
            let victim = try box.segmentsWithTransactions()[1]
            let successor = all[try XCTUnwrap(all.firstIndex(of: victim)) + 1]
            let saved = try FileIO.readFile(victim)
            try forge(victim)
            let problems = try ArchiveVerifier.verify(archive: box.archive).problems
            XCTAssertTrue(problems.contains { $0.contains((successor as NSString).lastPathComponent) && $0.contains("hash chain broken") && $0.contains("content hash") },
                          "\(problems)")
            XCTAssertTrue(try KeylessVerifier.verify(archive: box.archive).problems.contains { $0.contains("hash chain broken") })
            let target = try box.scratchDatabase("forged")
            XCTAssertThrowsError(try Replayer(ReplayRequest(archive: box.archive, table: "public.t", point: .latest,
                                                            destination: .database(conninfo: target, into: nil, replace: false)), logger: box.logger).run()) {
                XCTAssertTrue("\($0)".contains("hash chain is broken"), "\($0)")
            }
            try Data(saved).write(to: URL(fileURLWithPath: victim))
            XCTAssertTrue(try ArchiveVerifier.verify(archive: box.archive).ok)
        }
    }

    /// Rewrites a segment with one row's text altered, every hash of its own recomputed.
    func forge(_ path: String) throws {
        let reader = try FrameFileReader(path: path, key: nil)
        let tmp = path + ".forged"
        let writer = try FrameFileWriter(creating: tmp, key: nil, zstd: Zstd(level: 19))
        var altered = false
        while let frame = try reader.next() {
            if frame.header.kind == .footer {
                var footer = try frame.decodeJSON(SegmentFooter.self, path: path)
                footer.sha256 = writer.sha256
                footer.contentSHA256 = writer.content.hex
                try writer.writeJSONFrame(.footer, footer)
                break
            }
            var raw = frame.raw
            if frame.header.kind == .records, !altered, let at = findDigit(raw) { raw[at] = raw[at] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1"); altered = true }
            try writer.writeFrame(frame.header.kind, raw: raw, firstLSN: frame.header.firstLSN, lastEndLSN: frame.header.lastEndLSN,
                                  lastCommitTime: frame.header.lastCommitTime)
        }
        XCTAssertTrue(altered)
        try writer.sync()
        try FileIO.rename(tmp, path)
    }

    /// A digit inside a row's text (after "driver " or "bulk "), to alter.
    func findDigit(_ raw: [UInt8]) -> Int? {
        for word in ["driver ", "bulk "] {
            let w = Array(word.utf8)
            guard raw.count > w.count else { continue }
            for i in 0..<(raw.count - w.count) where raw[i..<(i + w.count)].elementsEqual(w) {
                let d = i + w.count
                if d < raw.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(raw[d]) { return d }
            }
        }
        return nil
    }

    /// `logbook recompress` on an encrypted archive: frames sealed anew with the key; without the
    /// key it is refused; verify and replay as before.
    func testRecompressAnEncryptedArchiveFromTheCommandLine() throws {
        let key = NSTemporaryDirectory() + "logbook-recompress-\(UUID().uuidString).key"
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        _ = FileManager.default.createFile(atPath: key, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
        addTeardownBlock { try? FileManager.default.removeItem(atPath: key) }
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            try box.sql("INSERT INTO t SELECT g, 'driver log ' || g FROM generate_series(1, 500) g")
            let run = ["run", "--source", box.conninfo, "--archive", box.archive, "--tables", "public.t", "--slot", box.slot,
                       "--publication", box.slot, "--flush-interval", "0.2", "--encryption-key-file", key]
            XCTAssertEqual(try LogbookBinary.run(run + ["--endpos", try box.currentLSN().description]).status, 0)
            try box.sql("UPDATE t SET v = v || ' corrected' WHERE id % 2 = 0; INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(501, 3000) g")
            var r = try LogbookBinary.run(run + ["--endpos", try box.currentLSN().description])
            XCTAssertEqual(r.status, 0, r.err)

            r = try LogbookBinary.run(["recompress", "--archive", box.archive])
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.err.contains("--encryption-key-file"), r.err)
            r = try LogbookBinary.run(["recompress", "--archive", box.archive, "--encryption-key-file", key])
            XCTAssertEqual(r.status, 0, r.err)
            XCTAssertTrue(r.out.contains("segments recompressed at level 19"), r.out)
            let dir = ArchiveDirectory(box.archive)
            for seg in try dir.sealedSegments() {
                let footer = try SegmentScanner.footer(of: seg, key: nil)
                XCTAssertEqual(footer.recompressed?.level, 19, seg)
                let stored = try FileIO.readFile(seg)
                XCTAssertEqual(stored[ArchiveFiles.fileMagic.count + 5] & 1, 1, "\(seg): the first frame is still encrypted")
            }
            r = try LogbookBinary.run(["verify", "--archive", box.archive, "--encryption-key-file", key])
            XCTAssertEqual(r.status, 0, r.out + r.err)
            r = try LogbookBinary.run(["verify", "--archive", box.archive])
            XCTAssertEqual(r.status, 0, "without the key: \(r.out + r.err)")
            let target = try box.scratchDatabase("enc")
            r = try LogbookBinary.run(["replay", "--archive", box.archive, "--table", "public.t", "--target", target, "--encryption-key-file", key])
            XCTAssertEqual(r.status, 0, r.err)
            assertSameRows(try box.dump("t", on: target), try box.dump("t"), "replay of the recompressed encrypted archive")
        }
    }
}
