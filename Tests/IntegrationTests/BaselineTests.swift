import Archive
import Capture
import Foundation
import LibPQ
import PGWire
import Replay
import XCTest

/// Base copies consistent with the slot, tables added later, and a lost slot.
final class BaselineTests: XCTestCase {
    func testBaseCopyOfALargeTableWhileFourClientsWrite() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE big (id bigint PRIMARY KEY, driver int, note text)")
            try box.sql("INSERT INTO big SELECT g, g % 500, md5(g::text) FROM generate_series(1, 200000) g")
            // Four writers: inserts, updates and deletes over the whole key range, during the copy.
            let running = RunFlag()
            let conninfo = box.conninfo
            let writers = (0..<4).map { n -> DispatchSemaphore in
                let done = DispatchSemaphore(value: 0)
                Thread {
                    defer { done.signal() }
                    guard let c = try? PostgresConnection(conninfo: conninfo) else { return }
                    var i = 0
                    while running.isOn {
                        i += 1
                        let k = (i * 7919 + n * 104_729) % 200_000 + 1
                        _ = try? c.query("UPDATE big SET note = 'w\(n)-\(i)' WHERE id = \(k)")
                        _ = try? c.query("INSERT INTO big VALUES (\(1_000_000 + n * 100_000 + i), \(n), 'new') ON CONFLICT DO NOTHING")
                        if i % 5 == 0 { _ = try? c.query("DELETE FROM big WHERE id = \(k + 1)") }
                    }
                }.start()
                return done
            }
            // Read by three connections at once (ranges of its pages, one snapshot).
            var options = box.options(tables: ["public.big"])
            options.baseCopyLanes = 3
            options.baseCopyPagesPerLane = 64
            let capture = BackgroundCapture(options, logger: box.logger)
            try waitUntil(timeout: 120, "the base copy is written") { (try? ArchiveDirectory(box.archive).baseFiles().count) == 1 }
            usleep(300_000)
            running.clear()
            writers.forEach { $0.wait() }
            let end = try box.currentLSN()
            try box.waitUntilConfirmed(end, timeout: 60, "everything confirmed")
            let stats = try capture.stop()
            XCTAssertGreaterThan(stats.transactions, 10, "[\(box.server)] writes went on during and after the copy")
            XCTAssertEqual(stats.baseCopyLanes, ["public.big": 3], "[\(box.server)]")
            try box.assertLatestReplayEqualsLive("big", "[\(box.server)] base + stream equals the live table")
        }
    }

    func testATableAddedLaterGetsItsOwnBaseCopy() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY, v text)")
            try box.sql("INSERT INTO b SELECT g, 'before b was archived' FROM generate_series(1, 50) g")
            _ = try box.captureToNow(["public.a"])
            try box.sql("INSERT INTO a VALUES (1)")
            try box.sql("UPDATE b SET v = 'still not archived' WHERE id < 10")
            _ = try box.captureToNow(["public.a", "public.b"])
            let bases = try BaseCopyReader.headers(in: ArchiveDirectory(box.archive))
            XCTAssertEqual(bases.map(\.header.table).sorted(), ["public.a", "public.b"])
            XCTAssertEqual(bases.first { $0.header.table == "public.b" }?.header.reason, "added")
            try box.sql("UPDATE b SET v = 'archived' WHERE id >= 40")
            try box.sql("INSERT INTO a VALUES (2)")
            _ = try box.captureToNow(["public.a", "public.b"])
            let target = try box.scratchDatabase("r")
            try Replay(box).run(table: "public.b", target: target)
            try Replay(box).run(table: "public.a", target: target)
            assertSameRows(try box.dump("b", on: target), try box.dump("b"), "[\(box.server)] table added later")
            assertSameRows(try box.dump("a", on: target), try box.dump("a"), "[\(box.server)] the first table kept streaming")
        }
    }

    func testASlotDroppedUnderARunningArchiverIsReportedAndResnapshotRecovers() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            try box.sql("INSERT INTO t VALUES (1, 'one')")
            var o = box.options(tables: ["public.t"])
            o.maxReconnectAttempts = 5
            let capture = BackgroundCapture(o, logger: box.logger)
            try box.waitUntilStreaming()
            try box.sql("INSERT INTO t VALUES (2, 'two')")
            let end = try box.currentLSN()
            try box.waitUntilConfirmed(end, "confirmed")
            // Someone drops the slot: terminate its walsender and drop it before the archiver gets it back.
            try waitUntil("the slot is dropped") {
                let r = try box.sql("""
                    SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '\(box.slot)' AND active_pid IS NOT NULL;
                    """)
                _ = r
                return (try? box.sql("SELECT pg_drop_replication_slot('\(box.slot)')")) != nil
            }
            try waitUntil("the archiver gives up on the lost slot") { capture.isFinished }
            XCTAssertThrowsError(try capture.stop()) { e in
                XCTAssertEqual((e as? CaptureError)?.code, .slotLost, "\(e)")
                XCTAssertTrue("\(e)".contains("no longer exists") && "\(e)".contains("--resnapshot"), "\(e)")
            }
            // Changes while no slot exists are lost to the archive: that is the gap.
            try box.sql("UPDATE t SET v = 'changed in the gap' WHERE id = 1")
            let gapTime = PGTimestamp(date: Date())
            usleep(20_000)
            // Without --resnapshot a new run refuses; with it, a new base and a recorded gap.
            let refused = PreflightTests.runError(box, tables: ["public.t"])
            XCTAssertEqual(refused?.code, .slotLost)
            _ = try box.captureToNow(["public.t"]) { $0.resnapshot = true }
            let gaps = ArchiveDirectory(box.archive).readGaps()
            XCTAssertEqual(gaps.count, 1)
            try box.sql("INSERT INTO t VALUES (3, 'three')")
            _ = try box.captureToNow(["public.t"])
            try box.assertLatestReplayEqualsLive("t", "[\(box.server)] after --resnapshot")
            let target = try box.scratchDatabase("r")
            XCTAssertThrowsError(try Replay(box).run(table: "public.t", target: target, point: .time(gapTime))) { e in
                XCTAssertEqual((e as? ReplayError)?.code, .inGap, "\(e)")
            }
        }
    }
}
