import Archive
import Capture
import Foundation
import LibPQ
import Operate
import PGWire
import Replay
import XCTest

/// Compaction, integrity verification and the restore test.
final class OperateTests: XCTestCase {
    func testCompactionEqualsAFreshCopyAtTheSameLSNAndReplayUsesIt() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text, body text)")
            try box.sql("INSERT INTO t SELECT g, 'v', NULL FROM generate_series(1, 2000) g")
            _ = try box.captureToNow(["public.t"])
            try box.sql("UPDATE t SET body = repeat(md5(id::text), 100) WHERE id <= 5")
            try box.sql("UPDATE t SET v = 'edited' WHERE id <= 10")      // body unchanged TOAST
            try box.sql("DELETE FROM t WHERE id % 7 = 0")
            try box.sql("UPDATE t SET id = id + 10000 WHERE id BETWEEN 20 AND 30")
            try box.sql("ALTER TABLE t ADD COLUMN extra int DEFAULT 7")
            try box.sql("INSERT INTO t VALUES (50000, 'new', NULL, 1)")
            _ = try box.captureToNow(["public.t"])
            let results = try Compactor.compact(archive: box.archive, logger: box.logger)
            XCTAssertEqual(results.count, 1)
            // The new base copy holds exactly the live table (nothing changed since the capture).
            let reader = try BaseCopyReader(path: results[0].path, key: nil)
            var text: [UInt8] = []
            while let c = try reader.nextChunk() { text += c }
            let live = try box.dump("t")
            XCTAssertEqual(reader.header.definition.columns.map(\.name), ["id", "v", "body", "extra"])
            assertSameRows(String(decoding: text, as: UTF8.self).split(separator: "\n").sorted { Int($0.prefix { $0 != "\t" })! < Int($1.prefix { $0 != "\t" })! }.joined(separator: "\n") + "\n",
                           live, "[\(box.server)] compacted base = live table")
            // Replay after compaction starts from the new base and still equals the live table.
            try box.sql("UPDATE t SET v = 'after compaction' WHERE id = 1")
            _ = try box.captureToNow(["public.t"])
            let target = try box.scratchDatabase("r")
            let r = try Replay(box).run(table: "public.t", target: target)
            XCTAssertEqual(r.baseLSN, results[0].lsn, "replay starts from the compacted base")
            XCTAssertEqual(r.changesFolded, 1)
            assertSameRows(try box.dump("t", on: target), try box.dump("t"), "[\(box.server)] replay after compaction")
            XCTAssertTrue(try Compactor.compact(archive: box.archive, logger: box.logger).count <= 1)
        }
    }

    func testVerifyFindsAFlippedByteAndAMissingFooter() throws {
        try forEachServer { box in
            try box.archiveSegments(3, rows: 1000)
            XCTAssertTrue(try ArchiveVerifier.verify(archive: box.archive).ok)
            let segs = try box.segmentsWithTransactions()
            XCTAssertEqual(segs.count, 3)
            var bytes = try FileIO.readFile(segs[1])
            bytes[bytes.count / 2] ^= 0x40
            try Data(bytes).write(to: URL(fileURLWithPath: segs[1]))
            let report = try ArchiveVerifier.verify(archive: box.archive)
            XCTAssertEqual(report.problems.count, 1, "\(report.problems)")
            XCTAssertTrue(report.problems[0].contains((segs[1] as NSString).lastPathComponent) && report.problems[0].contains("at byte"), report.problems[0])
            // The CLI: one line per problem, exit 1.
            let cli = try LogbookBinary.run(["verify", "--archive", box.archive])
            XCTAssertEqual(cli.status, 1)
            XCTAssertTrue(cli.out.contains("PROBLEM"), cli.out)
            // Replay names the damaged file instead of restoring wrong data.
            let target = try box.scratchDatabase("r")
            XCTAssertThrowsError(try Replay(box).run(table: "public.t", target: target)) { e in
                XCTAssertTrue("\(e)".contains((segs[1] as NSString).lastPathComponent), "\(e)")
            }
        }
    }

    func testRestoreTestPassesAndCatchesADifference() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE a (id int PRIMARY KEY, v text); CREATE TABLE b (x int, y text); ALTER TABLE b REPLICA IDENTITY FULL")
            try box.sql("INSERT INTO a SELECT g, md5(g::text) FROM generate_series(1, 3000) g; INSERT INTO b VALUES (1, 'dup'), (1, 'dup')")
            let capture = BackgroundCapture(box.options(tables: ["public.a", "public.b"]), logger: box.logger)
            try waitUntil("both base copies are written") { (try? ArchiveDirectory(box.archive).baseFiles().count) == 2 }
            try box.sql("UPDATE a SET v = 'x' WHERE id % 3 = 0")
            let lines = try RestoreCheck.run(archive: box.archive, against: box.conninfo, tables: [], logger: box.logger)
            XCTAssertEqual(lines.map(\.table), ["public.a", "public.b"])
            XCTAssertTrue(lines.allSatisfy(\.pass), "\(lines.map(\.description))")
            XCTAssertEqual(lines.first?.archivedRows, 3000)
            // Someone takes the table out of the publication: its changes stop reaching the archive,
            // while the slot keeps advancing. The restore test is what catches it.
            try box.sql("ALTER PUBLICATION \(box.slot) DROP TABLE a")
            try box.sql("DELETE FROM a WHERE id = 1")
            let fails = try RestoreCheck.run(archive: box.archive, against: box.conninfo, tables: ["public.a"], logger: box.logger)
            XCTAssertEqual(fails.count, 1)
            XCTAssertFalse(fails[0].pass, fails[0].description)
            XCTAssertEqual(fails[0].archivedRows, 3000)
            XCTAssertEqual(fails[0].liveRows, 2999)
            try capture.stop()
            // Without a running archiver the check cannot reach the current position, and says so.
            XCTAssertThrowsError(try RestoreCheck.run(archive: box.archive, against: box.conninfo, tables: [], waitSeconds: 0.5, logger: box.logger)) { e in
                XCTAssertTrue("\(e)".contains("logbook run"), "\(e)")
            }
        }
    }

    func testSegmentsRollBySizeAndCompactionRunsOnItsCadence() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            try box.sql("INSERT INTO t SELECT g, 'v' FROM generate_series(1, 100) g")
            _ = try box.captureToNow(["public.t"])
            let scheduler = CompactionScheduler(archive: box.archive, every: 0.001, logger: box.logger)
            XCTAssertFalse(CompactionScheduler(archive: box.archive, every: 3600, logger: box.logger).isDue())
            var o = box.options(tables: ["public.t"])
            o.segment.rollBytes = 1 // seal after every transaction
            let worker = MaintenanceWorker(compaction: scheduler, retention: nil)
            worker.start()
            defer { worker.finish() }
            o.onSegmentSealed = { worker.segmentSealed() }
            let capture = BackgroundCapture(o, logger: box.logger)
            for i in 1...5 { try box.sql("UPDATE t SET v = 'round \(i)' WHERE id <= \(i * 10)") }
            try waitUntil("a compacted base copy appears") {
                (try? BaseCopyReader.headers(in: ArchiveDirectory(box.archive)).contains { $0.header.reason == "compacted" }) == true
            }
            try box.waitUntilConfirmed(try box.currentLSN())   // every round archived before the stop
            try capture.stop()
            XCTAssertGreaterThanOrEqual(try ArchiveDirectory(box.archive).sealedSegments().count, 5, "one segment per transaction")
            try box.assertLatestReplayEqualsLive("t", "[\(box.server)] replay with a compacted base")
        }
    }

    func testTheComposeFileIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/docker-compose") else {
            return XCTFail("docker-compose is not installed: run the suite with `make test`")
        }
        XCTAssertEqual(runCommand(["/usr/bin/docker-compose", "-f", root + "/docker-compose.yml", "config", "-q"]), 0)
    }

    func testTheHashChainCatchesADeletedReplacedOrReorderedSegment() throws {
        try forEachServer { box in
            try box.archiveSegments(4, rows: 100)
            let dir = ArchiveDirectory(box.archive)
            XCTAssertTrue(try ArchiveVerifier.verify(archive: box.archive).ok)
            let segs = try box.segmentsWithTransactions()
            XCTAssertEqual(segs.count, 4)
            // Deleted: the chain breaks at the segment after the gap.
            let saved = try FileIO.readFile(segs[1])
            try FileManager.default.removeItem(atPath: segs[1])
            var problems = try ArchiveVerifier.verify(archive: box.archive).problems
            XCTAssertEqual(problems.count, 1, "\(problems)")
            XCTAssertTrue(problems[0].contains((segs[2] as NSString).lastPathComponent) && problems[0].contains("hash chain broken"), problems[0])
            try Data(saved).write(to: URL(fileURLWithPath: segs[1]))
            XCTAssertTrue(try ArchiveVerifier.verify(archive: box.archive).ok)
            // Replaced by a well-formed segment with other content (its footer recomputed would still break the chain).
            let other = try FileIO.readFile(segs[3])
            try Data(other).write(to: URL(fileURLWithPath: segs[2]))
            problems = try ArchiveVerifier.verify(archive: box.archive).problems
            XCTAssertTrue(problems.contains { $0.contains("hash chain broken") }, "\(problems)")
            // Reordered: two segments swap places.
            let second = try FileIO.readFile(segs[2 - 1])
            let third = try FileIO.readFile(segs[3])
            try Data(third).write(to: URL(fileURLWithPath: segs[1]))
            try Data(second).write(to: URL(fileURLWithPath: segs[2]))
            problems = try ArchiveVerifier.verify(archive: box.archive).problems
            XCTAssertTrue(problems.contains { $0.contains("hash chain broken") }, "\(problems)")
        }
    }

    /// Base copies are in the chain: each records its SHA-256, the next sealed segment anchors it.
    func testTheChainCatchesADeletedOrReplacedBaseCopy() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            try box.sql("INSERT INTO t SELECT g, 'base' FROM generate_series(1, 100) g")
            _ = try box.captureToNow(["public.t"])
            try box.sql("UPDATE t SET v = 'changed' WHERE id <= 50")
            _ = try box.captureToNow(["public.t"])
            XCTAssertEqual(try Compactor.compact(archive: box.archive, logger: box.logger).count, 1)
            try box.sql("INSERT INTO t VALUES (101, 'after')")
            _ = try box.captureToNow(["public.t"])   // this seal anchors both base copies
            let dir = ArchiveDirectory(box.archive)
            let bases = try dir.baseFiles()
            XCTAssertEqual(bases.count, 2)
            let last = try XCTUnwrap(try dir.sealedSegments().last)
            let anchored = try SegmentScanner.footer(of: last, key: nil).baseCopies ?? [:]
            XCTAssertEqual(Set(anchored.keys), Set(bases.map { ($0 as NSString).lastPathComponent }))
            var report = try ArchiveVerifier.verify(archive: box.archive)
            XCTAssertTrue(report.ok, "\(report.problems)")
            XCTAssertEqual(report.unanchoredBaseCopies, [])

            // Replaced by another well-formed base copy (its own hash is consistent): the anchor catches it.
            let original = try FileIO.readFile(bases[0])
            try Data(try FileIO.readFile(bases[1])).write(to: URL(fileURLWithPath: bases[0]))
            report = try ArchiveVerifier.verify(archive: box.archive)
            XCTAssertTrue(report.problems.contains { $0.contains((bases[0] as NSString).lastPathComponent) && $0.contains("replaced") }, "\(report.problems)")
            // Deleted.
            try FileManager.default.removeItem(atPath: bases[0])
            report = try ArchiveVerifier.verify(archive: box.archive)
            XCTAssertTrue(report.problems.contains { $0.contains("missing") && $0.contains((bases[0] as NSString).lastPathComponent) }, "\(report.problems)")
            // A flipped byte inside: its own hash (or the frame checksum) catches it.
            var bytes = original
            bytes[bytes.count / 2] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: bases[0]))
            report = try ArchiveVerifier.verify(archive: box.archive)
            XCTAssertFalse(report.ok)
            XCTAssertTrue(report.problems.allSatisfy { $0.contains((bases[0] as NSString).lastPathComponent) }, "\(report.problems)")
            try Data(original).write(to: URL(fileURLWithPath: bases[0]))
            XCTAssertTrue(try ArchiveVerifier.verify(archive: box.archive).ok)
        }
    }

    /// verify --sign-with writes a signed manifest; audit checks it later against the archive.
    func testSignedManifestLetsAnAuditorCheckNothingChanged() throws {
        try forEachServer { box in
            try box.archiveSegments(3, rows: 100)
            let keys = box.archive + "-keys"
            try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: keys) }
            XCTAssertEqual(try LogbookBinary.run(["keygen", "--signing-key", keys + "/signer"]).status, 0)
            XCTAssertEqual(try LogbookBinary.run(["keygen", "--signing-key", keys + "/other"]).status, 0)
            XCTAssertEqual(try LogbookBinary.run(["keygen", "--signing-key", keys + "/signer"]).status, 1, "never overwrites a key")
            let manifest = keys + "/manifest.json"
            let v = try LogbookBinary.run(["verify", "--archive", box.archive, "--sign-with", keys + "/signer", "--manifest", manifest])
            XCTAssertEqual(v.status, 0, v.err)
            let audit = ["audit", "--archive", box.archive, "--manifest", manifest, "--public-key", keys + "/signer.pub"]
            var a = try LogbookBinary.run(audit)
            XCTAssertEqual(a.status, 0, a.out + a.err)
            XCTAssertTrue(a.out.contains("PASS nothing through"), a.out)

            // More archived later: the signed part is unchanged, the audit still passes.
            try box.sql("INSERT INTO t VALUES (100000, 'later')")
            _ = try box.captureToNow(["public.t"])
            XCTAssertEqual(try LogbookBinary.run(audit).status, 0)

            // Another signer's key, or an edited manifest: refused.
            a = try LogbookBinary.run(Array(audit.dropLast()) + [keys + "/other.pub"])
            XCTAssertEqual(a.status, 1)
            XCTAssertTrue(a.err.contains("signed by key"), a.err)
            let original = try String(contentsOfFile: manifest, encoding: .utf8)
            try original.replacingOccurrences(of: "\\\"transactions\\\" : ", with: "\\\"transactions\\\" : 9").write(toFile: manifest, atomically: true, encoding: .utf8)
            a = try LogbookBinary.run(audit)
            XCTAssertEqual(a.status, 1, a.out)
            XCTAssertTrue(a.err.contains("signature is not valid"), a.err)
            try original.write(toFile: manifest, atomically: true, encoding: .utf8)

            // A segment before the signed head rewritten: caught.
            let segs = try ArchiveDirectory(box.archive).sealedSegments()
            let saved = try FileIO.readFile(segs[1])
            try Data(try FileIO.readFile(segs[2])).write(to: URL(fileURLWithPath: segs[1]))
            a = try LogbookBinary.run(audit)
            XCTAssertEqual(a.status, 1)
            XCTAssertTrue(a.out.contains("PROBLEM"), a.out)
            try Data(saved).write(to: URL(fileURLWithPath: segs[1]))
            XCTAssertEqual(try LogbookBinary.run(audit).status, 0)
        }
    }

    func testStatusThresholdsTripAndClear() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY)")
            _ = try box.captureToNow(["public.t"])
            try box.sql("INSERT INTO t VALUES (1)")
            _ = try box.captureToNow(["public.t"])
            // Inactive slot and changes not yet archived: both thresholds trip.
            try box.sql("INSERT INTO t SELECT g FROM generate_series(2, 1000) g")
            let tripped = try LogbookBinary.run(["status", "--archive", box.archive, "--source", box.conninfo, "--max-age", "0s", "--max-lag", "1B"])
            XCTAssertEqual(tripped.status, 1)
            XCTAssertTrue(tripped.err.contains("BREACH max-lag"), tripped.err)
            XCTAssertTrue(tripped.err.contains("BREACH max-age"), tripped.err)
            XCTAssertTrue(tripped.err.contains("not active"), tripped.err)
            // Streaming and caught up: they clear.
            let capture = BackgroundCapture(box.options(tables: ["public.t"]), logger: box.logger)
            try box.waitUntilStreaming()
            let end = try box.currentLSN()
            try box.waitUntilConfirmed(end)
            try waitUntil("the lag is zero") {
                try LogbookBinary.run(["status", "--archive", box.archive, "--source", box.conninfo, "--max-age", "1d", "--max-lag", "1GB"]).status == 0
            }
            let json = try LogbookBinary.run(["status", "--archive", box.archive, "--json"])
            XCTAssertTrue(json.out.contains("\"lastEndLSN\""), json.out)
            try capture.stop()
        }
    }

    func testStatusTimelineShowsTheRestorableWindowBasesMarksAndSegments() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY)")
            _ = try box.captureToNow(["public.t"])
            try box.sql("INSERT INTO t VALUES (1)")
            _ = try box.captureToNow(["public.t"])
            XCTAssertEqual(try LogbookBinary.run(["mark", "before-migration", "--source", box.conninfo]).status, 0)
            try box.sql("INSERT INTO t VALUES (2)")
            _ = try box.captureToNow(["public.t"])
            let r = try LogbookBinary.run(["status", "--archive", box.archive, "--timeline"])
            XCTAssertEqual(r.status, 0, r.err)
            let lines = r.out.split(separator: "\n").map(String.init)
            XCTAssertTrue(lines.contains { $0.hasPrefix("restorable ") }, r.out)
            let bar = try XCTUnwrap(lines.first { $0.hasPrefix("|") && $0.hasSuffix("|") }, r.out)
            XCTAssertEqual(bar.count, 66)
            XCTAssertTrue(bar.hasPrefix("|B"), "the base copy opens the window: \(bar)")
            XCTAssertTrue(bar.contains("M"), "the mark is drawn: \(bar)")
            XCTAssertTrue(bar.contains("="), "sealed segments are drawn: \(bar)")
            XCTAssertTrue(lines.contains { $0.hasPrefix("mark before-migration: ") }, r.out)
            // The mark is indexed in its sealed segment's footer, found without reading the segment.
            let json = try LogbookBinary.run(["status", "--archive", box.archive, "--json"])
            XCTAssertTrue(json.out.contains("before-migration"), json.out)
            let plain = try LogbookBinary.run(["status", "--archive", box.archive, "--no-timeline"])
            XCTAssertFalse(plain.out.contains("\nrestorable "), plain.out + plain.err)
        }
    }

    /// `run --retention`: pruning in the background when a segment is sealed, at most once per interval.
    func testScheduledRetentionPrunesInTheBackground() throws {
        try forEachServer { box in
            try box.archiveSegments(3, rows: 50)
            XCTAssertEqual(try Compactor.compact(archive: box.archive, logger: box.logger).count, 1)
            let dir = ArchiveDirectory(box.archive)
            let before = try dir.sealedSegments().count
            let worker = MaintenanceWorker(compaction: nil, retention: RetentionScheduler(archive: box.archive, keep: 0.001, logger: box.logger))
            worker.start()
            defer { worker.finish() }
            worker.segmentSealed()
            try waitUntil("the scheduled retention pruned the segments before the compacted base copy") {
                try dir.sealedSegments().count < before && dir.baseFiles().count == 1
            }
            XCTAssertTrue(try ArchiveVerifier.verify(archive: box.archive).ok)
            try box.assertLatestReplayEqualsLive("t", "[\(box.server)] after scheduled retention")
        }
    }

    func testPruningKeepsEveryPointOfTheWindowRestorable() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            try box.sql("INSERT INTO t SELECT g, 'base' FROM generate_series(1, 100) g")
            _ = try box.captureToNow(["public.t"])
            for i in 1...3 {
                try box.sql("UPDATE t SET v = 'old \(i)' WHERE id <= \(i * 10)")
                _ = try box.captureToNow(["public.t"])   // one sealed segment each
            }
            let old = try Compactor.compact(archive: box.archive, logger: box.logger)  // a base copy at the last commit
            XCTAssertEqual(old.count, 1)
            let sealedBeforeCompaction = try ArchiveDirectory(box.archive).sealedSegments().count
            usleep(50_000)
            let windowStart = Date()
            usleep(50_000)
            for i in 1...2 {
                try box.sql("UPDATE t SET v = 'new \(i)' WHERE id > 90")
                _ = try box.captureToNow(["public.t"])
            }
            let dir = ArchiveDirectory(box.archive)
            let segmentsBefore = try dir.sealedSegments().count
            let keep = Date().timeIntervalSince(windowStart)
            let dry = try LogbookBinary.run(["prune", "--archive", box.archive, "--keep", "\(keep)s", "--dry-run"])
            XCTAssertEqual(dry.status, 0, dry.err)
            XCTAssertTrue(dry.out.contains("would delete"), dry.out)
            XCTAssertEqual(try dir.sealedSegments().count, segmentsBefore, "a dry run deletes nothing")
            let plan = try Retention.plan(archive: box.archive, keep: keep)
            XCTAssertGreaterThanOrEqual(sealedBeforeCompaction, 3)
            XCTAssertEqual(plan.segments.count, sealedBeforeCompaction, "the segments before the compacted base copy")
            XCTAssertEqual(plan.baseCopies.count, 1, "the initial base copy")
            try Retention.apply(plan, archive: box.archive)
            XCTAssertEqual(try dir.sealedSegments().count, segmentsBefore - sealedBeforeCompaction)
            let report = try ArchiveVerifier.verify(archive: box.archive)
            XCTAssertTrue(report.ok, "the chain still verifies from the recorded head: \(report.problems)")
            // Every point of the window is still restorable; points before it say so.
            try box.assertLatestReplayEqualsLive("t", "[\(box.server)] latest after pruning")
            let target = try box.scratchDatabase("r")
            try Replay(box).run(table: "public.t", target: target, point: .time(PGTimestamp(date: windowStart)))
            XCTAssertEqual(try PostgresConnection(conninfo: target).query("SELECT count(*) FROM t WHERE v LIKE 'new%'").scalar, "0")
            XCTAssertThrowsError(try Replay(box).run(table: "public.t", target: target,
                                                     point: .time(PGTimestamp(date: windowStart.addingTimeInterval(-3600))), replace: true)) { e in
                XCTAssertEqual((e as? ReplayError)?.code, .outOfRange, "\(e)")
            }
        }
    }
}
