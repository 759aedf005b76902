import Archive
import Capture
import Foundation
import LibPQ
import Operate
import PGWire
import XCTest

/// Capture against real servers: every message kind as produced by real SQL.
final class CaptureTests: XCTestCase {
    /// Counts of operations per table in the whole archive, read back with the archive cursor.
    func archivedOperations(_ box: Sandbox) throws -> (ops: [String: Int], messages: [String], transactions: Int) {
        let cursor = try ArchiveCursor(archive: ArchiveDirectory(box.archive))
        var rel: [UInt32: String] = [:]
        var ops: [String: Int] = [:]
        var messages: [String] = []
        var txns = 0
        while let ev = try cursor.next() {
            switch ev {
            case .relation(let r): rel[r.oid] = r.name
            case .commit: txns += 1
            case .message(let m): messages.append("nontx:\(m.prefix)=\(String(decoding: m.content, as: UTF8.self))")
            case .change(let m, _):
                switch m {
                case .insert(let i): ops["\(rel[i.relation]!).I", default: 0] += 1
                case .update(let u): ops["\(rel[u.relation]!).U\(u.oldKind.map { String(UnicodeScalar($0.rawValue)) } ?? "")", default: 0] += 1
                case .delete(let d): ops["\(rel[d.relation]!).D\(String(UnicodeScalar(d.oldKind.rawValue)))", default: 0] += 1
                case .truncate(let t):
                    let flags = (t.cascade ? "c" : "") + (t.restartIdentity ? "r" : "")
                    ops["T(\(t.relations.map { rel[$0]! }.sorted().joined(separator: ",")))\(flags)", default: 0] += 1
                case .message(let m): messages.append("tx:\(m.prefix)=\(String(decoding: m.content, as: UTF8.self))")
                default: break
                }
            default: break
            }
        }
        return (ops, messages, txns)
    }

    func testEveryMessageKindFromRealSQL() throws {
        try forEachServer { box in
            try box.sql("""
                CREATE TABLE a (id int PRIMARY KEY, v text);
                CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a(id), v text);
                CREATE TABLE full_rows (x int, y text);
                ALTER TABLE full_rows REPLICA IDENTITY FULL;
                """)
            _ = try box.captureToNow(["public.a", "public.b", "public.full_rows"])
            for statement in [
                "INSERT INTO a VALUES (1, 'one'), (2, 'two'), (3, 'three')",
                "INSERT INTO b VALUES (10, 1, 'x')",
                "UPDATE a SET v = 'uno' WHERE id = 1",
                "UPDATE a SET id = 4 WHERE id = 3",
                "DELETE FROM a WHERE id = 2",
                "INSERT INTO full_rows VALUES (1, 'dup'), (1, 'dup')",
                "UPDATE full_rows SET y = 'changed' WHERE ctid = (SELECT min(ctid) FROM full_rows)",
                "DELETE FROM full_rows WHERE y = 'changed'",
                "SELECT pg_logical_emit_message(true, 'audit', 'in a transaction')",
                "SELECT pg_logical_emit_message(false, 'audit', 'outside')",
                "TRUNCATE a, b RESTART IDENTITY CASCADE",
            ] { try box.sql(statement) }
            let stats = try box.captureToNow(["public.a", "public.b", "public.full_rows"])
            XCTAssertEqual(stats.transactions, 10, box.server)
            let got = try archivedOperations(box)
            XCTAssertEqual(got.ops["a.I"], 3)
            XCTAssertEqual(got.ops["b.I"], 1)
            XCTAssertEqual(got.ops["a.U"], 1, "plain update: no old tuple")
            XCTAssertEqual(got.ops["a.UK"], 1, "key change: old key K")
            XCTAssertEqual(got.ops["a.DK"], 1)
            XCTAssertEqual(got.ops["full_rows.I"], 2)
            XCTAssertEqual(got.ops["full_rows.UO"], 1, "REPLICA IDENTITY FULL: old row O")
            XCTAssertEqual(got.ops["full_rows.DO"], 1)
            XCTAssertEqual(got.ops["T(a,b)cr"], 1, "one TRUNCATE naming two tables, cascade + restart identity")
            XCTAssertEqual(got.messages.sorted(), ["nontx:audit=outside", "tx:audit=in a transaction"])
        }
    }

    func testUnchangedToastValuesAreArchivedAsUnchanged() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE docs (id int PRIMARY KEY, body text, n int); ALTER TABLE docs ALTER body SET STORAGE EXTERNAL;")
            _ = try box.captureToNow(["public.docs"])
            try box.sql("INSERT INTO docs SELECT 1, string_agg(md5(g::text), '') , 0 FROM generate_series(1, 400) g")
            try box.sql("UPDATE docs SET n = 1 WHERE id = 1")
            _ = try box.captureToNow(["public.docs"])
            let cursor = try ArchiveCursor(archive: ArchiveDirectory(box.archive))
            var sawUnchanged = false
            while let ev = try cursor.next() {
                if case .change(.update(let u), _) = ev { sawUnchanged = u.new.values[1] == .unchanged }
            }
            XCTAssertTrue(sawUnchanged, "[\(box.server)] the update should carry 'u' for the untouched TOASTed column")
        }
    }

    func testLargeTransactionIsStreamedAndRolledBackOnesNeverAppear() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE big (id int PRIMARY KEY, pad text)")
            _ = try box.captureToNow(["public.big"])
            try box.sql("INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g")
            // A transaction rolled back while the archiver runs: streamed, then aborted.
            var live = box.options(tables: ["public.big"])
            live.source += " options='-c logical_decoding_work_mem=64kB'"
            let running = BackgroundCapture(live, logger: box.logger)
            let spoolDir = ArchiveDirectory(box.archive).spoolPath
            let open = try box.connect()
            try open.query("BEGIN")
            let xid = UInt64(try open.query("SELECT txid_current()").scalar!)! & 0xFFFF_FFFF
            let spool = spoolDir + "/\(xid).spool"
            try open.query("INSERT INTO big SELECT g, 'rolled back' FROM generate_series(100001, 120000) g")
            try waitUntil("the open transaction is being spooled") { FileManager.default.fileExists(atPath: spool) }
            try open.query("ROLLBACK")
            try waitUntil("the aborted stream's spool is dropped") { !FileManager.default.fileExists(atPath: spool) }
            let liveStats = try running.stop()
            XCTAssertEqual(liveStats.streamedAborts, 1, "[\(box.server)] the rolled-back transaction was streamed and aborted")
            XCTAssertEqual(liveStats.transactions, 1, "[\(box.server)] only the committed insert is archived")
            // A streamed transaction with a rolled-back savepoint inside.
            try box.sql("""
                BEGIN;
                INSERT INTO big SELECT g, 'kept' FROM generate_series(200001, 210000) g;
                SAVEPOINT s1;
                INSERT INTO big SELECT g, 'savepoint rolled back' FROM generate_series(300001, 310000) g;
                ROLLBACK TO SAVEPOINT s1;
                INSERT INTO big SELECT g, 'kept after' FROM generate_series(400001, 401000) g;
                COMMIT;
                """)
            let stats = try box.captureToNow(["public.big"]) { o in
                o.source += " options='-c logical_decoding_work_mem=64kB'"
            }
            XCTAssertEqual(stats.transactions, 1, "[\(box.server)] the savepoint transaction")
            XCTAssertEqual(stats.streamedCommits, 1, "[\(box.server)] it arrived as a streamed transaction")
            XCTAssertEqual(stats.changes, 10000 + 1000, "[\(box.server)] without the rolled-back savepoint's rows")
            XCTAssertGreaterThanOrEqual(stats.preparedChanges, 10000, "[\(box.server)] the kept rows reached the segment as they were prepared while streaming")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: spoolDir), [], "spools are removed after commit/abort")
            // The archive and the table agree row for row.
            let target = try box.scratchDatabase("r")
            _ = try Replay(box).run(table: "public.big", target: target)
            XCTAssertEqual(try box.dump("big"), try box.dump("big", on: target))
        }
    }

    /// A streamed transaction's changes are prepared (compressed as the segment stores them) while
    /// it streams, under the table's definition of that moment; at the commit they are written as they
    /// are only where the definition still holds. Here the transaction itself adds a column halfway:
    /// the changes before are kept as prepared, those after (prepared before the catalog showed the
    /// column) are routed again, and the rebuilt table equals the source by rows and by schema.
    func testStreamedChangesPreparedUnderADefinitionThatMovedAreRoutedAgain() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE moving (id int PRIMARY KEY, pad text NOT NULL)")
            _ = try box.captureToNow(["public.moving"])
            try box.sql("""
                BEGIN;
                INSERT INTO moving SELECT g, repeat('p', 100) FROM generate_series(1, 5000) g;
                ALTER TABLE moving ADD COLUMN extra int DEFAULT 7;
                INSERT INTO moving SELECT g, repeat('q', 100), g FROM generate_series(5001, 10000) g;
                UPDATE moving SET pad = 'edited' WHERE id % 10 = 0;
                COMMIT;
                """)
            let stats = try box.captureToNow(["public.moving"]) { o in
                o.source += " options='-c logical_decoding_work_mem=64kB'"
            }
            XCTAssertEqual(stats.streamedCommits, 1, "[\(box.server)] it arrived as a streamed transaction")
            XCTAssertEqual(stats.changes, 10000 + 1000, "[\(box.server)] every insert and update")
            XCTAssertGreaterThanOrEqual(stats.preparedChanges, 5000, "[\(box.server)] the changes before the new column were written as prepared")
            XCTAssertLessThanOrEqual(stats.preparedChanges, 5000, "[\(box.server)] those after it were routed again under the committed definition")
            let target = try box.scratchDatabase("r")
            _ = try Replay(box).run(table: "public.moving", target: target)
            XCTAssertEqual(try box.dump("moving"), try box.dump("moving", on: target), "[\(box.server)] rows")
            XCTAssertEqual(try box.schemaDump(["public.moving"]), try box.schemaDump(["public.moving"], on: target), "[\(box.server)] schema")
        }
    }

    /// A failed fsync leaves frames on disk that were never confirmed. Whether the crash then tears
    /// the last frame or leaves it whole, the next run ends with every transaction exactly once:
    /// a torn frame is cut and the server re-sends it; a whole one is kept and the re-sent copy skipped.
    func testUnconfirmedTailIsReArchivedExactlyOnceWhetherTornOrWhole() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            _ = try box.captureToNow(["public.t"])
            for tear in [true, false] {
                try box.sql("INSERT INTO t SELECT g, 'v' FROM generate_series(1, 50) g ON CONFLICT (id) DO UPDATE SET v = 'again'")
                try box.sql("INSERT INTO t VALUES (\(tear ? 1000 : 1001), 'second')")
                FileIO.faultInjector = { call, path in call == .fsync && path.hasSuffix(".partial") ? EIO : nil }
                XCTAssertThrowsError(try box.captureToNow(["public.t"])) { e in
                    XCTAssertTrue("\(e)".contains("fsync failed"), "\(e)")
                }
                FileIO.faultInjector = nil
                let partial = try ArchiveDirectory(box.archive).openSegments()
                XCTAssertEqual(partial.count, 1, "the unsynced segment is left open")
                if tear {
                    let size = try FileManager.default.attributesOfItem(atPath: partial[0])[.size] as! Int
                    let fh = FileHandle(forUpdatingAtPath: partial[0])!
                    try fh.truncate(atOffset: UInt64(size - 7))
                    try fh.close()
                }
                let stats = try box.captureToNow(["public.t"])
                if tear {
                    XCTAssertEqual(stats.transactions, 2, "[\(box.server)] both cut transactions re-archived")
                } else {
                    XCTAssertEqual(stats.transactions, 0, "[\(box.server)] kept transactions are not archived again")
                }
                let target = try box.scratchDatabase("r\(tear ? 1 : 2)")
                try Replay(box).run(table: "public.t", target: target)
                XCTAssertEqual(try box.dump("t"), try box.dump("t", on: target), "[\(box.server)] nothing lost, nothing doubled (tear: \(tear))")
            }
        }
    }
}
