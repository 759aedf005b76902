import Archive
import Capture
import Foundation
import LibPQ
import Operate
import PGWire
import Replay
import XCTest

/// The archive probed as a hostile operator would: no command reports success with wrong data.
final class HostileProbeTests: XCTestCase {
    func testAMissingOrForeignSegmentStopsReplayWithOneLine() throws {
        try forEachServer { box in
            try box.archiveSegments(4, rows: 100)
            let segs = try box.segmentsWithTransactions()
            XCTAssertEqual(segs.count, 4)
            let target = try box.scratchDatabase("r")
            // A middle segment deleted: refused, naming the segment after the break.
            let saved = try FileIO.readFile(segs[1])
            try FileManager.default.removeItem(atPath: segs[1])
            XCTAssertThrowsError(try Replay(box).run(table: "public.t", target: target)) { e in
                XCTAssertTrue("\(e)".contains((segs[2] as NSString).lastPathComponent) && "\(e)".contains("hash chain is broken")
                              && "\(e)".contains("--allow-gap"), "[\(box.server)] \(e)")
            }
            let cli = try LogbookBinary.run(["replay", "--archive", box.archive, "--table", "public.t", "--output", box.archive + "/x.copy"])
            XCTAssertEqual(cli.status, 1, cli.err)
            XCTAssertEqual(cli.err.split(separator: "\n").filter { $0.contains("error") }.count, 1, cli.err)
            // Knowingly: the result names what was crossed.
            let knowingly = try LogbookBinary.run(["replay", "--archive", box.archive, "--table", "public.t", "--output", box.archive + "/x.copy", "--allow-gap"])
            XCTAssertEqual(knowingly.status, 0, knowingly.err)
            XCTAssertTrue(knowingly.out.contains("WARNING (--allow-gap)"), knowingly.out)
            try Data(saved).write(to: URL(fileURLWithPath: segs[1]))
            try box.assertLatestReplayEqualsLive("t", "[\(box.server)] the chain whole again")

            // A segment of another archive (another slot) copied in.
            let other = try Sandbox(server: (box.server, box.admin), test: "foreign\(box.server)")
            defer { other.cleanUp() }
            try other.archiveSegments(1, rows: 10)
            let foreign = try XCTUnwrap(try other.segmentsWithTransactions().first)
            let copied = box.archive + "/segments/FFFFFFFFFFFFFFFF.seg"
            try FileManager.default.copyItem(atPath: foreign, toPath: copied)
            XCTAssertThrowsError(try Replay(box).run(table: "public.t", target: target, replace: true)) { e in
                XCTAssertTrue("\(e)".contains("FFFFFFFFFFFFFFFF.seg belongs to another archive"), "[\(box.server)] \(e)")
            }
            try FileManager.default.removeItem(atPath: copied)

            // archive.json edited to name another cluster: every segment is foreign to it.
            let idPath = box.archive + "/archive.json"
            let original = try String(contentsOfFile: idPath, encoding: .utf8)
            let id = try XCTUnwrap(try ArchiveDirectory(box.archive).readIdentity())
            try original.replacingOccurrences(of: id.systemIdentifier, with: "1234567890").write(toFile: idPath, atomically: true, encoding: .utf8)
            let report = try ArchiveVerifier.verify(archive: box.archive)
            XCTAssertTrue(report.problems.contains { $0.contains("belongs to another archive") }, "[\(box.server)] \(report.problems)")
            XCTAssertThrowsError(try Replay(box).run(table: "public.t", target: target, replace: true))
            try original.write(toFile: idPath, atomically: true, encoding: .utf8)
            XCTAssertTrue(try ArchiveVerifier.verify(archive: box.archive).ok)
        }
    }

    func testTwoWritersCannotShareAnArchive() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY)")
            let args = ["run", "--source", box.conninfo, "--archive", box.archive, "--tables", "public.t", "--slot", box.slot, "--publication", box.slot]
            let first = try LogbookBinary.start(args)
            defer { first.process.terminate(); first.process.waitUntilExit() }
            try box.waitUntilStreaming()
            let second = try LogbookBinary.run(args)
            XCTAssertEqual(second.status, 1)
            XCTAssertTrue(second.err.contains("in use by another writer") && second.err.contains("pid \(first.process.processIdentifier)"), second.err)
            let compact = try LogbookBinary.run(["compact", "--archive", box.archive])
            XCTAssertEqual(compact.status, 1)
            XCTAssertTrue(compact.err.contains("in use by another writer"), compact.err)
            // Readers need no lock.
            XCTAssertEqual(try LogbookBinary.run(["status", "--archive", box.archive, "--no-timeline"]).status, 0)
        }
    }

    /// The archive folder replaced by an older copy: the slot is ahead of it, and the archiver
    /// says so instead of streaming on; with --resnapshot the stretch is a recorded gap.
    func testAnOlderCopyOfTheArchiveIsRefusedThenAGapWithResnapshot() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            try box.sql("INSERT INTO t SELECT g, 'v' FROM generate_series(1, 50) g")
            _ = try box.captureToNow(["public.t"])
            let older = box.archive + "-older"
            try FileManager.default.copyItem(atPath: box.archive, toPath: older)
            defer { try? FileManager.default.removeItem(atPath: older) }
            try box.sql("UPDATE t SET v = 'lost with the newer files' WHERE id <= 25")
            _ = try box.captureToNow(["public.t"])
            try FileManager.default.removeItem(atPath: box.archive)
            try FileManager.default.moveItem(atPath: older, toPath: box.archive)
            XCTAssertThrowsError(try box.captureToNow(["public.t"])) { e in
                XCTAssertEqual((e as? CaptureError)?.code, .slotAhead, "[\(box.server)] \(e)")
                XCTAssertTrue("\(e)".contains("archive files are missing") && "\(e)".contains("--resnapshot"), "\(e)")
            }
            _ = try box.captureToNow(["public.t"]) { $0.resnapshot = true }
            let dir = ArchiveDirectory(box.archive)
            XCTAssertEqual(dir.readGaps().count, 1, "[\(box.server)] the stretch is a recorded gap")
            try box.assertLatestReplayEqualsLive("t", "[\(box.server)] from the new base copies")

            // The gap is in the hash-chained segments too: gaps.json emptied, garbled or deleted forgets nothing.
            try box.sql("UPDATE t SET v = 'after the gap' WHERE id = 1")
            _ = try box.captureToNow(["public.t"])   // seals a segment that carries the gap
            let gap = try XCTUnwrap(dir.readGaps().first)
            let resumed = try XCTUnwrap(try BaseCopyReader.headers(in: dir).first { $0.header.lsn == gap.toLSN }?.header.snapshotTime)
            let inside = PGTimestamp(rawValue: (try XCTUnwrap(gap.fromTime).rawValue + resumed.rawValue) / 2)
            for damage in ["[]", "{ not json", nil] as [String?] {
                if let damage { try damage.write(toFile: dir.gapsPath, atomically: true, encoding: .utf8) } else { try FileManager.default.removeItem(atPath: dir.gapsPath) }
                XCTAssertThrowsError(try Replay(box).run(table: "public.t", target: try box.scratchDatabase("gap"), point: .time(inside))) { e in
                    XCTAssertEqual((e as? ReplayError)?.code, .inGap, "[\(box.server)] gaps.json \(damage ?? "deleted"): \(e)")
                }
                let report = try ArchiveVerifier.verify(archive: box.archive)
                XCTAssertTrue(report.problems.contains { $0.hasPrefix("gaps.json") }, "[\(box.server)] \(damage ?? "deleted"): \(report.problems)")
            }
        }
    }

    func testTheArchiveFolderDeletedUnderARunningArchiverStopsIt() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY)")
            let capture = BackgroundCapture(box.options(tables: ["public.t"]), logger: box.logger)
            try box.waitUntilStreaming()
            try box.sql("INSERT INTO t VALUES (1)")
            try box.waitUntilConfirmed(try box.currentLSN())
            try FileManager.default.removeItem(atPath: box.archive)
            try box.sql("INSERT INTO t VALUES (2)")
            try waitUntil(timeout: 30, "the archiver stops") { capture.isFinished }
            XCTAssertThrowsError(try capture.stop()) { e in
                XCTAssertTrue("\(e)".contains("deleted or replaced") || "\(e)".contains("deleted while archiving"), "[\(box.server)] \(e)")
            }
        }
    }
}
