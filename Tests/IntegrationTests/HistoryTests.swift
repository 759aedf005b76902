import Archive
import Foundation
import LibPQ
import PGWire
import XCTest

/// `logbook history` and `logbook diff` against real PostgreSQL: every version of a key, with the
/// values the table held after each step, across segments and a compaction; bounds; a key never
/// seen; `--where` on keyed and keyless tables; the key index never causes a miss.
final class HistoryTests: XCTestCase {
    struct Version: Decodable, Equatable {
        var lsn: String
        var commit_time: String
        var xid: UInt32?
        var op: String
        var row: [String: String?]?
        var changed: [String]
    }

    func history(_ box: Sandbox, _ args: [String]) throws -> (versions: [Version], err: String, status: Int32) {
        let r = try LogbookBinary.run(["history", "--archive", box.archive, "--table", "public.t", "--format", "json"] + args)
        let versions = try r.out.split(separator: "\n").map { try JSONDecoder().decode(Version.self, from: Data($0.utf8)) }
        return (versions, r.err, r.status)
    }

    /// The row with this id as the table holds it now (text form), nil if there is none.
    func row(_ box: Sandbox, _ id: Int) throws -> [String: String?]? {
        let c = try box.sql("SELECT id::text, driver::text, v, big FROM t WHERE id = \(id)")
        guard let r = c.rows.first else { return nil }
        return ["id": r[0], "driver": r[1], "v": r[2], "big": r[3]]
    }

    func testEveryVersionOfAKeyAcrossSegmentsACompactionAndAKeyChange() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, driver int, v text, big text)")
            try box.sql("ALTER TABLE t ALTER big SET STORAGE EXTERNAL")
            try box.sql("INSERT INTO t SELECT g, g % 5, 'v' || g, NULL FROM generate_series(1, 500) g")
            _ = try box.captureToNow(["public.t"])
            var expected: [(op: String, row: [String: String?]?, before: LSN, after: LSN)] = []
            expected.append(("snapshot", try row(box, 42), .zero, .zero))
            func step(_ sql: String, _ op: String, id: Int, capture: Bool = false) throws {
                let before = try box.currentLSN()
                try box.sql(sql)
                expected.append((op, try row(box, id), before, try box.currentLSN()))
                if capture { _ = try box.captureToNow(["public.t"]) }
            }
            try step("UPDATE t SET v = 'first edit' WHERE id = 42", "update", id: 42)
            try step("UPDATE t SET big = repeat('toasted ', 4000) WHERE id = 42", "update", id: 42, capture: true)
            // Other keys change in between, in segments of their own.
            try box.sql("UPDATE t SET v = 'noise' WHERE id BETWEEN 100 AND 200")
            _ = try box.captureToNow(["public.t"])
            let compact = try LogbookBinary.run(["compact", "--archive", box.archive])
            XCTAssertEqual(compact.status, 0, compact.err)
            // TOAST unchanged: the stream carries no value for big; history fills it in.
            try step("UPDATE t SET v = 'second edit', driver = 4 WHERE id = 42", "update", id: 42, capture: true)
            let midLSN = try box.currentLSN()
            try step("UPDATE t SET id = 1042 WHERE id = 42", "update", id: 1042)
            try step("DELETE FROM t WHERE id = 1042", "delete", id: 1042)
            try step("INSERT INTO t VALUES (42, 3, 'back again', NULL)", "insert", id: 42, capture: true)

            let all = try history(box, ["--key", "id=42"])
            XCTAssertEqual(all.status, 0, all.err)
            // Key 42 leaves with the key update and returns with the insert; the delete was of 1042.
            let mine = expected.enumerated().filter { $0.offset != 5 }.map(\.element)
            XCTAssertEqual(all.versions.map(\.op), mine.map(\.op), "[\(box.server)] \(all.versions.map(\.op))")
            for (v, e) in zip(all.versions, mine) {
                XCTAssertEqual(v.row, e.row, "[\(box.server)] \(v.op) at \(v.lsn)")
                if e.op != "snapshot" {
                    let lsn = try XCTUnwrap(LSN(string: v.lsn))
                    XCTAssertTrue(lsn >= e.before && lsn < e.after, "[\(box.server)] \(v.lsn) within \(e.before)…\(e.after)")
                    XCTAssertNotNil(v.xid)
                }
            }
            XCTAssertEqual(all.versions[3].changed.sorted(), ["driver", "v"], "only what changed: \(all.versions[3].changed)")
            XCTAssertTrue(all.versions[3].row?["big"]??.hasPrefix("toasted") == true, "unchanged TOAST filled in")
            XCTAssertEqual(all.versions[4].changed, ["id"])
            // The other key: the row arrives by the key update, then is deleted.
            let moved = try history(box, ["--key", "id=1042"])
            XCTAssertEqual(moved.versions.map(\.op), ["update", "delete"], "[\(box.server)] \(moved.versions)")
            XCTAssertEqual(moved.versions[0].row, expected[4].row)
            XCTAssertNil(moved.versions[1].row)

            // --from/--to: the state at --from first, then what came after, up to --to.
            let bounded = try history(box, ["--key", "id=42", "--from", expected[2].after.description, "--to", midLSN.description])
            XCTAssertEqual(bounded.versions.map(\.op), ["snapshot", "update"], "[\(box.server)] \(bounded.versions)")
            XCTAssertEqual(bounded.versions[0].row, expected[2].row)
            XCTAssertEqual(bounded.versions[1].row, expected[3].row)

            // The index read fewer segments than the window holds, and found the same as a full scan.
            XCTAssertTrue(all.err.contains("segments in the window read"), all.err)
            for id in [1, 42, 150, 499, 1042, 77777] {
                let fast = try LogbookBinary.run(["history", "--archive", box.archive, "--table", "public.t", "--key", "id=\(id)", "--format", "json"])
                let full = try LogbookBinary.run(["history", "--archive", box.archive, "--table", "public.t", "--key", "id=\(id)", "--format", "json", "--no-index"])
                XCTAssertEqual(fast.out, full.out, "[\(box.server)] id \(id)")
                XCTAssertEqual(fast.status, full.status)
            }

            // A key never seen: one line.
            let none = try history(box, ["--key", "id=77777"])
            XCTAssertEqual(none.status, 1)
            XCTAssertEqual(none.err.split(separator: "\n").count, 1, none.err)
            XCTAssertTrue(none.err.contains("no version"), none.err)
            // A wrong key column: one line naming the key.
            let wrong = try history(box, ["--key", "driver=2"])
            XCTAssertEqual(wrong.status, 1)
            XCTAssertTrue(wrong.err.contains("the key of public.t is id"), wrong.err)

            // --where on a keyed table: every version of every row that held driver=2 at some time.
            let drivers = try history(box, ["--where", "driver=2"])
            XCTAssertEqual(drivers.status, 0, drivers.err)
            let ids = Set(drivers.versions.compactMap { $0.row?["id"] ?? nil })
            XCTAssertTrue(ids.contains("42") && ids.contains("1042") && ids.contains("7") && !ids.contains("8"), "[\(box.server)] \(ids.sorted())")
            XCTAssertEqual(drivers.versions.filter { $0.op == "snapshot" }.count, 100, "the 100 rows with driver 2 in the base copy")

            // diff equals the set difference of two replays to files.
            let a = box.archive + "/../diff-a-\(box.slot).copy", b = box.archive + "/../diff-b-\(box.slot).copy"
            defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
            let fromLSN = expected[1].after.description
            XCTAssertEqual(try LogbookBinary.run(["replay", "--archive", box.archive, "--table", "public.t", "--at-lsn", fromLSN, "--output", a]).status, 0)
            XCTAssertEqual(try LogbookBinary.run(["replay", "--archive", box.archive, "--table", "public.t", "--output", b]).status, 0)
            func lines(_ p: String) throws -> Set<String> { Set(try String(contentsOfFile: p, encoding: .utf8).split(separator: "\n").map(String.init)) }
            let la = try lines(a), lb = try lines(b)
            func id(_ line: String) -> String { String(line.split(separator: "\t").first ?? "") }
            let gone = Set(la.subtracting(lb).map(id)), came = Set(lb.subtracting(la).map(id))
            let d = try LogbookBinary.run(["diff", "--archive", box.archive, "--table", "public.t", "--from", fromLSN, "--format", "json"])
            XCTAssertEqual(d.status, 0, d.err)
            struct Net: Decodable { var op: String; var key: [String: String?]; var changed: [String] }
            let net = try d.out.split(separator: "\n").map { try JSONDecoder().decode(Net.self, from: Data($0.utf8)) }
            let keys = { (op: String) in Set(net.filter { $0.op == op }.compactMap { $0.key["id"] ?? nil }) }
            XCTAssertEqual(keys("update"), gone.intersection(came), "[\(box.server)]")
            XCTAssertEqual(keys("delete"), gone.subtracting(came))
            XCTAssertEqual(keys("insert"), came.subtracting(gone))
            XCTAssertTrue(keys("update").contains("150") && keys("update").contains("42"))
            // --format sql turns the table at --from into the table at --to.
            let sql = try LogbookBinary.run(["diff", "--archive", box.archive, "--table", "public.t", "--from", fromLSN, "--format", "sql"])
            XCTAssertEqual(sql.status, 0, sql.err)
            let target = try box.scratchDatabase("diff")
            XCTAssertEqual(try LogbookBinary.run(["replay", "--archive", box.archive, "--table", "public.t", "--at-lsn", fromLSN, "--target", target]).status, 0)
            _ = try PostgresConnection(conninfo: target).query(sql.out)
            assertSameRows(try box.dump("t", on: target), try box.dump("t"), "[\(box.server)] diff --format sql applied to the table at --from")
        }
    }

    func testKeylessTableWhereAndASegmentWithoutIndex() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int, driver int, v text, big text)")
            try box.sql("ALTER TABLE t REPLICA IDENTITY FULL")
            try box.sql("INSERT INTO t SELECT g, g % 5, 'v' || g, NULL FROM generate_series(1, 50) g")
            try box.sql("CREATE TABLE k (id int PRIMARY KEY, v text)")
            try box.sql("INSERT INTO k SELECT g, 'v' || g FROM generate_series(1, 50) g")
            _ = try box.captureToNow(["public.t", "public.k"])
            // An archiver killed mid-stream: its segment is sealed by recovery, with no key index.
            let running = try LogbookBinary.start(["run", "--source", box.conninfo, "--archive", box.archive, "--tables", "public.t,public.k",
                                                   "--slot", box.slot, "--publication", box.slot, "--flush-interval", "0.1"])
            try box.waitUntilStreaming()
            try box.sql("UPDATE t SET v = 'edited' WHERE id = 7")
            try box.sql("UPDATE k SET v = 'edited' WHERE id = 7")
            try box.waitUntilConfirmed(try box.currentLSN())
            kill(running.process.processIdentifier, SIGKILL)
            running.process.waitUntilExit()
            try box.sql("DELETE FROM t WHERE id = 7")
            try box.sql("INSERT INTO t VALUES (7, 9, 'new', NULL)")
            _ = try box.captureToNow(["public.t", "public.k"])
            // The recovered segment has no key index: it is read, and the edit in it found.
            let sealed = try ArchiveDirectory(box.archive).sealedSegments().map { try SegmentScanner.footer(of: $0, key: nil) }
            XCTAssertTrue(sealed.contains { $0.keyIndexOffset == nil && $0.tables.contains("public.k") }, "[\(box.server)] a segment without index")
            let keyed = try LogbookBinary.run(["history", "--archive", box.archive, "--table", "public.k", "--key", "id=7", "--format", "json"])
            XCTAssertEqual(keyed.status, 0, keyed.err)
            XCTAssertTrue(keyed.out.contains("\"edited\""), keyed.out)
            let r = try history(box, ["--where", "id=7"])
            XCTAssertEqual(r.status, 0, r.err)
            XCTAssertEqual(r.versions.map(\.op), ["snapshot", "update", "delete", "insert"], "[\(box.server)] \(r.versions)")
            XCTAssertEqual(r.versions[1].row?["v"], "edited")
            XCTAssertEqual(r.versions[3].row?["driver"], "9")
            // A keyless table has no --key.
            let k = try history(box, ["--key", "id=7"])
            XCTAssertEqual(k.status, 1)
            XCTAssertTrue(k.err.contains("has no key") && k.err.contains("--where"), k.err)
        }
    }
}
