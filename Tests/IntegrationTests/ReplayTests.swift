import Archive
import Capture
import Foundation
import LibPQ
import PGWire
import Replay
import XCTest

/// Replay against real servers: at recorded points of a mixed workload, the rebuilt table equals
/// the table as it was dumped at that point.
final class ReplayTests: XCTestCase {
    struct Point {
        var label: String
        var lsn: LSN
        var time: PGTimestamp
        var events: String
        var keyless: String
    }

    func record(_ box: Sandbox, _ label: String) throws -> Point {
        let c = try box.connect()
        let micros = Int64(try c.query("SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint").scalar!)!
        return Point(label: label, lsn: try box.currentLSN(),
                     time: PGTimestamp(rawValue: micros - PGTimestamp.epochOffsetSeconds * 1_000_000),
                     events: try box.dump("events"), keyless: try box.dump("keyless", orderBy: "1, 2"))
    }

    func sortedLines(_ s: String) -> [Substring] { s.split(separator: "\n").sorted() }

    func testReplayAtRecordedPointsOfAMixedWorkload() throws {
        try forEachServer { box in
            try box.sql("""
                CREATE TYPE duty AS ENUM ('off', 'sleeper', 'driving', 'on');
                CREATE TABLE events (id bigint PRIMARY KEY, driver int NOT NULL, status duty NOT NULL, note text, body text);
                ALTER TABLE events ALTER body SET STORAGE EXTERNAL;
                CREATE INDEX events_driver ON events (driver);
                CREATE TABLE keyless (a int, b text);
                ALTER TABLE keyless REPLICA IDENTITY FULL;
                INSERT INTO events SELECT g, g % 7, 'driving', 'n' || g, NULL FROM generate_series(1, 1000) g;
                INSERT INTO keyless VALUES (1, 'same'), (1, 'same'), (2, 'other');
                """)
            let tables = ["public.events", "public.keyless"]
            let running = BackgroundCapture(box.options(tables: tables), logger: box.logger)
            try waitUntil("both base copies are written") { (try? ArchiveDirectory(box.archive).baseFiles().count) == 2 }
            var points: [Point] = [try record(box, "start")]
            try box.sql("INSERT INTO events SELECT g, 1, 'on', E'tab\\there\\nnewline \\\\ backslash', NULL FROM generate_series(1001, 1100) g")
            try box.sql("UPDATE events SET status = 'off' WHERE id % 10 = 0")
            try box.sql("DELETE FROM events WHERE id % 13 = 0")
            points.append(try record(box, "inserts, updates, deletes"))
            try box.sql("UPDATE events SET body = (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 300) g) WHERE id <= 20")
            try box.sql("UPDATE events SET status = 'sleeper' WHERE id <= 10")  // body unchanged: sent as 'u'
            points.append(try record(box, "unchanged TOAST"))
            try box.sql("BEGIN; INSERT INTO events SELECT g, 3, 'on', 'bulk', NULL FROM generate_series(5001, 15000) g; UPDATE events SET note = 'bulk2' WHERE id BETWEEN 5001 AND 6000; COMMIT;")
            points.append(try record(box, "large transaction"))
            try box.sql("UPDATE events SET id = id + 100000 WHERE id BETWEEN 1 AND 15")  // key moves (5 of them have TOAST bodies)
            points.append(try record(box, "primary-key updates"))
            // The archiver reads a table's definition from the catalog when a Relation message comes:
            // had the ALTER TABLEs below already run, it would record what it can of a catalog ahead of
            // the stream, and the replays before them would rightly fold forward. Wait for it first.
            try box.waitUntilConfirmed(points.last!.lsn, running: running)
            try box.sql("ALTER TABLE events ADD COLUMN extra text DEFAULT 'dflt'")
            try box.sql("UPDATE events SET extra = 'set' WHERE id % 100 = 1")
            try box.sql("ALTER TABLE events DROP COLUMN note")
            try box.sql("INSERT INTO events (id, driver, status, extra) VALUES (20001, 9, 'off', 'new shape')")
            points.append(try record(box, "ALTER TABLE"))
            try box.sql("INSERT INTO keyless VALUES (1, 'same'), (3, 'x')")
            try box.sql("DELETE FROM keyless WHERE ctid = (SELECT min(ctid) FROM keyless WHERE a = 1)")
            try box.sql("UPDATE keyless SET b = 'changed' WHERE ctid = (SELECT min(ctid) FROM keyless WHERE a = 1)")
            points.append(try record(box, "identical rows without a key"))
            try box.sql("TRUNCATE events")
            try box.sql("INSERT INTO events (id, driver, status) VALUES (1, 1, 'on'), (2, 2, 'off')")
            points.append(try record(box, "TRUNCATE"))
            let last = points.last!.lsn
            try box.waitUntilConfirmed(last, "the archiver confirmed everything up to the last point")
            try running.stop()

            for (n, p) in points.enumerated() {
                // By LSN into an empty database.
                let target = try box.scratchDatabase("p\(n)")
                let whole = try Replay(box).run(table: "public.events", target: target, point: .lsn(p.lsn))
                assertSameRows(try box.dump("events", on: target), p.events, "[\(box.server)] events by LSN at '\(p.label)'")
                // Until the ALTER TABLE the columns held still: folded newest first; from it on, forward.
                XCTAssertEqual(whole.foldedNewestFirst, n < 5, "[\(box.server)] '\(p.label)'")
                // The same with a fold memory of 512 KiB: folded in shares of the keys, over many passes.
                let small = try box.scratchDatabase("s\(n)")
                let r = try Replay(box).run(table: "public.events", target: small, point: .lsn(p.lsn), foldMemory: 512 << 10)
                assertSameRows(try box.dump("events", on: small), p.events, "[\(box.server)] events folded in shares at '\(p.label)'")
                if r.changesFolded > 10000 { XCTAssertGreaterThan(r.foldPasses, 1, "[\(box.server)] '\(p.label)'") }
                XCTAssertFalse(r.foldedNewestFirst, "[\(box.server)] a newest-first fold does not fit 512 KiB")
                try Replay(box).run(table: "public.keyless", target: target, point: .lsn(p.lsn))
                assertSameRows(try box.dump("keyless", orderBy: "1, 2", on: target), p.keyless, "[\(box.server)] keyless by LSN at '\(p.label)'")
                // By time into a COPY file, which loads back with COPY FROM (the last point is after the last commit).
                let file = box.archive + "/p\(n).copy"
                if n == points.count - 1 {
                    XCTAssertThrowsError(try Replay(box).toFile(table: "public.events", path: file, format: "copy", point: .time(p.time)))
                    continue
                }
                try Replay(box).toFile(table: "public.events", path: file, format: "copy", point: .time(p.time))
                assertSameRows(sortedLines(try String(contentsOfFile: file, encoding: .utf8)).joined(separator: "\n"),
                               sortedLines(p.events).joined(separator: "\n"), "[\(box.server)] events by time at '\(p.label)'")
            }
            // COPY output loads back with COPY FROM; the SQL output recreates the table with psql semantics.
            let target = try box.scratchDatabase("files")
            let t = try PostgresConnection(conninfo: target)
            for s in try Replayer.schemaStatements(archive: box.archive, table: "public.events", point: .lsn(points[5].lsn), logger: box.logger) {
                try t.query(s)
            }
            try t.beginCopyIn("COPY events FROM STDIN")
            try t.putCopyData(Array(try String(contentsOfFile: box.archive + "/p5.copy", encoding: .utf8).utf8))
            try t.endCopy()
            assertSameRows(try box.dump("events", on: target), points[5].events, "[\(box.server)] --format copy round-trips")
            let csv = box.archive + "/latest.csv"
            try Replay(box).toFile(table: "public.events", path: csv, format: "csv")
            XCTAssertEqual(try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").first, "id,driver,status,body,extra")
            // An existing output is written through, never replaced: a link stays a link (and a device, a device).
            let link = box.archive + "/link.csv"
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: csv + ".real")
            FileManager.default.createFile(atPath: csv + ".real", contents: Data("old".utf8))
            try Replay(box).toFile(table: "public.events", path: link, format: "csv")
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), csv + ".real")
            XCTAssertEqual(try String(contentsOfFile: csv + ".real", encoding: .utf8), try String(contentsOfFile: csv, encoding: .utf8))
        }
    }

    /// The base copy is loaded through two connections at once into a build table; a failure part
    /// of the way (here a damaged frame near the end of the base copy) drops it and leaves the
    /// target as it was, with or without --replace.
    func testAReplayThatFailsPartWayLeavesTheTargetAsItWas() throws {
        try forEachServer { box in
            try box.sql("""
                CREATE TABLE big (id bigint PRIMARY KEY, v text NOT NULL);
                INSERT INTO big SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 60000) g;
                """)
            _ = try box.captureToNow(["public.big"])
            try box.sql("UPDATE big SET v = 'changed' WHERE id % 100 = 0")
            _ = try box.captureToNow(["public.big"])
            // Intact, the replay is the live table (through both lanes).
            let good = try box.scratchDatabase("good")
            try Replay(box).run(table: "public.big", target: good)
            XCTAssertEqual(try box.dump("big", on: good), try box.dump("big"), "[\(box.server)] replay through two lanes")

            let base = try FileManager.default.contentsOfDirectory(atPath: box.archive + "/base").map { box.archive + "/base/" + $0 }
            XCTAssertEqual(base.count, 1)
            var bytes = try Data(contentsOf: URL(fileURLWithPath: base[0]))
            XCTAssertGreaterThan(bytes.count, 1 << 20, "the base copy spans several frames")
            bytes[bytes.count * 3 / 4] ^= 0xFF
            try bytes.write(to: URL(fileURLWithPath: base[0]))

            let target = try box.scratchDatabase("fail")
            let t = try PostgresConnection(conninfo: target)
            for replace in [false, true] {
                if replace { try t.query("CREATE TABLE big (id bigint PRIMARY KEY, v text); INSERT INTO big VALUES (-1, 'kept')") }
                XCTAssertThrowsError(try Replay(box).run(table: "public.big", target: target, replace: replace)) { e in
                    XCTAssertTrue("\(e)".contains("checksum mismatch"), "[\(box.server)] \(e)")
                }
                XCTAssertEqual(try t.query("SELECT to_regclass('big_logbook_new') IS NULL").scalar, "t", "[\(box.server)] no build table is left")
                if replace {
                    XCTAssertEqual(try t.query("SELECT string_agg(id || ':' || v, ',') FROM big").scalar, "-1:kept", "[\(box.server)] the replaced table is untouched")
                } else {
                    XCTAssertEqual(try t.query("SELECT to_regclass('big') IS NULL").scalar, "t", "[\(box.server)] no table is created")
                }
            }
            // A table of the build table's name that replay did not make is never dropped.
            let other = try box.scratchDatabase("other")
            let o = try PostgresConnection(conninfo: other)
            try o.query("CREATE TABLE big_logbook_new (x int); INSERT INTO big_logbook_new VALUES (7)")
            XCTAssertThrowsError(try Replay(box).run(table: "public.big", target: other)) { e in
                XCTAssertTrue("\(e)".contains("the name replay builds under"), "[\(box.server)] \(e)")
            }
            XCTAssertEqual(try o.query("SELECT x FROM big_logbook_new").scalar, "7")
        }
    }

    func testPointsOutsideTheArchiveNameTheRestorableRange() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY)")
            _ = try box.captureToNow(["public.t"])
            try box.sql("INSERT INTO t VALUES (1)")
            _ = try box.captureToNow(["public.t"])
            let r = Replay(box)
            let target = try box.scratchDatabase("r")
            XCTAssertThrowsError(try r.run(table: "public.t", target: target, point: .time(PGTimestamp(date: Date(timeIntervalSince1970: 0))))) { e in
                XCTAssertTrue("\(e)".contains("before the archive's first base copy") && "\(e)".contains("can restore public.t from"), "\(e)")
            }
            XCTAssertThrowsError(try r.run(table: "public.t", target: target, point: .time(PGTimestamp(date: Date().addingTimeInterval(3600))))) { e in
                XCTAssertTrue("\(e)".contains("after the archive's watermark") && "\(e)".contains("can restore"), "\(e)")
            }
            XCTAssertThrowsError(try r.run(table: "public.nope", target: target)) { e in
                XCTAssertTrue("\(e)".contains("no base copy of public.nope") && "\(e)".contains("public.t"), "\(e)")
            }
            XCTAssertThrowsError(try ReplayPoint.parseTime("2026-11-25T14:00:00")) { e in
                XCTAssertTrue("\(e)".contains("no time zone"), "\(e)")
            }
            XCTAssertEqual(try ReplayPoint.parseTime("2000-01-01T01:00:00.5+01:00"), PGTimestamp(rawValue: 500_000))
            // An existing table is not touched without --replace; with it, swapped.
            try r.run(table: "public.t", target: target)
            XCTAssertThrowsError(try r.run(table: "public.t", target: target)) { e in XCTAssertTrue("\(e)".contains("--replace"), "\(e)") }
            try r.run(table: "public.t", target: target, replace: true)
            XCTAssertEqual(try box.dump("t", on: target), "1\n")
            // The live table in the source is refused without --replace.
            XCTAssertThrowsError(try r.run(table: "public.t", target: box.conninfo)) { e in XCTAssertTrue("\(e)".contains("live table"), "\(e)") }
        }
    }

    /// Restoring the live table in place: its rows are replaced in one archived transaction, so the
    /// table keeps its identity (still published) and the archive's latest state stays the live one.
    func testReplaceOfTheLiveTableIsInPlaceAndArchived() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id serial PRIMARY KEY, v text)")
            try box.sql("INSERT INTO t (v) SELECT 'good ' || g FROM generate_series(1, 200) g")
            let capture = BackgroundCapture(box.options(tables: ["public.t"]), logger: box.logger)
            try box.waitUntilStreaming()
            try box.waitUntilConfirmed(try box.currentLSN())
            try box.sql("SELECT pg_sleep(0.01)")
            let good = try box.dump("t")
            let point = Date()
            try box.sql("SELECT pg_sleep(0.01)")
            try box.sql("DELETE FROM t WHERE id % 3 = 0; UPDATE t SET v = 'bad' WHERE id < 50; INSERT INTO t (v) VALUES ('late')")
            let oid = try box.sql("SELECT 't'::regclass::oid").scalar
            try box.waitUntilConfirmed(try box.currentLSN())

            try Replay(box).run(table: "public.t", target: box.conninfo, point: .time(PGTimestamp(date: point)), replace: true)
            assertSameRows(try box.dump("t"), good, "[\(box.server)] the live table holds its rows as of the point")
            XCTAssertEqual(try box.sql("SELECT 't'::regclass::oid").scalar, oid, "same table: publication, grants and keys kept")
            XCTAssertEqual(try box.sql("SELECT count(*) FROM pg_publication_tables WHERE pubname = '\(box.slot)' AND tablename = 't'").scalar, "1")
            // Later writes are archived as usual, and the sequence did not move backwards.
            try box.sql("INSERT INTO t (v) VALUES ('after restore')")
            XCTAssertEqual(try box.sql("SELECT id > 201 FROM t WHERE v = 'after restore'").scalar, "t")
            try box.waitUntilConfirmed(try box.currentLSN())
            try box.assertLatestReplayEqualsLive("t", "[\(box.server)] the archive recorded the restore itself")
            try capture.stop()

            // A table other tables reference cannot be emptied: one line, nothing changed.
            try box.sql("CREATE TABLE child (id int PRIMARY KEY, t_id int REFERENCES t)")
            let before = try box.dump("t")
            XCTAssertThrowsError(try Replay(box).run(table: "public.t", target: box.conninfo, replace: true)) { e in
                XCTAssertTrue("\(e)".contains("foreign keys reference it"), "\(e)")
            }
            XCTAssertEqual(try box.dump("t"), before)
        }
    }

    func testMarksAreRestorePoints() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            _ = try box.captureToNow(["public.t"])
            try box.sql("INSERT INTO t VALUES (1, 'before')")
            let before = try box.dump("t")
            _ = try MarkWriter.write(name: "pre-migration", source: box.conninfo)
            try box.sql("UPDATE t SET v = 'after'")
            _ = try box.captureToNow(["public.t"])
            let target = try box.scratchDatabase("m")
            try Replay(box).run(table: "public.t", target: target, point: .mark("pre-migration"))
            XCTAssertEqual(try box.dump("t", on: target), before)
            XCTAssertThrowsError(try Replay(box).run(table: "public.t", target: target, point: .mark("nope"), replace: true)) { e in
                XCTAssertTrue("\(e)".contains("no mark named 'nope'"), "\(e)")
            }
        }
    }

    func testADefinitionThatMovesWithoutItsColumnsKeepsTheNewestFirstFold() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL, note text)")
            try box.sql("INSERT INTO t SELECT g, g, 'n' FROM generate_series(1, 500) g")
            _ = try box.captureToNow(["public.t"])
            try box.sql("UPDATE t SET v = v + 1 WHERE id % 3 = 0")
            let early = (lsn: try box.currentLSN(), rows: try box.dump("t"))
            // Only the definition moves (a check constraint, a default); the columns stay as they were.
            try box.sql("ALTER TABLE t ADD CONSTRAINT v_positive CHECK (v > 0)")
            try box.sql("ALTER TABLE t ALTER note SET DEFAULT 'none'")
            try box.sql("UPDATE t SET note = 'after' WHERE id % 5 = 0")
            try box.sql("DELETE FROM t WHERE id % 7 = 0")
            _ = try box.captureToNow(["public.t"])

            // The destination starts with the base copy's definition; the walk finds the point's and starts over with it.
            let latest = try box.scratchDatabase("latest")
            let r = try Replay(box).run(table: "public.t", target: latest)
            XCTAssertTrue(r.foldedNewestFirst, "[\(box.server)] the columns held: folded newest first")
            assertSameRows(try box.dump("t", on: latest), try box.dump("t"), "[\(box.server)] latest rows")
            XCTAssertEqual(try box.schemaDump(["public.t"], on: latest), try box.schemaDump(["public.t"]), "[\(box.server)] the check and the default came along")
            let c = try PostgresConnection(conninfo: latest)
            XCTAssertThrowsError(try c.query("INSERT INTO t (id, v) VALUES (9999, 0)"), "[\(box.server)] the check constraint holds")

            let before = try box.scratchDatabase("early")
            let e = try Replay(box).run(table: "public.t", target: before, point: .lsn(early.lsn))
            XCTAssertTrue(e.foldedNewestFirst, "[\(box.server)] before the ALTER: folded newest first")
            assertSameRows(try box.dump("t", on: before), early.rows, "[\(box.server)] rows before the ALTER")
        }
    }

    func testEnumDomainAndCompositeTypesAreRecreatedInAnEmptyDatabase() throws {
        try forEachServer { box in
            try box.sql("""
                CREATE TYPE duty AS ENUM ('off', 'sleeper', 'driving', 'on');
                CREATE DOMAIN odometer AS integer NOT NULL DEFAULT 0 CHECK (VALUE >= 0);
                CREATE TYPE geo_point AS (lat numeric(8,5), lon numeric(8,5));
                CREATE TABLE ev (id int PRIMARY KEY, status duty NOT NULL, miles odometer, pos geo_point, flags duty[]);
                INSERT INTO ev VALUES (1, 'driving', 120, '(40.1,-100.2)', '{off,on}');
                """)
            _ = try box.captureToNow(["public.ev"])
            try box.sql("INSERT INTO ev VALUES (2, 'sleeper', 5, '(41,-101)', '{}')")
            _ = try box.captureToNow(["public.ev"])
            let statements = try Replayer.schemaStatements(archive: box.archive, table: "public.ev", point: .latest, logger: box.logger)
            XCTAssertTrue(statements.contains { $0.contains("CREATE DOMAIN") && $0.contains("CHECK ((VALUE >= 0))") }, "\(statements)")
            XCTAssertTrue(statements.contains { $0.contains("CREATE TYPE \"public\".\"geo_point\" AS (lat numeric(8,5), lon numeric(8,5))") }, "\(statements)")
            let target = try box.scratchDatabase("types")
            try Replay(box).run(table: "public.ev", target: target)
            assertSameRows(try box.dump("ev", on: target), try box.dump("ev"), "[\(box.server)] rows with enum, domain, composite and array values")
            let c = try PostgresConnection(conninfo: target)
            XCTAssertEqual(try c.query("SELECT enum_range(NULL::duty)::text").scalar, "{off,sleeper,driving,on}", "labels in order")
            XCTAssertThrowsError(try c.query("INSERT INTO ev VALUES (3, 'on', -1, NULL, NULL)"), "the domain's check came along")
        }
    }
}
