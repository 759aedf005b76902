import Archive
import Capture
import Foundation
import LibPQ
import XCTest

/// Every failure a user can cause ends in one clear line that names the fix, and creates nothing.
final class PreflightTests: XCTestCase {
    static func runError(_ box: Sandbox, tables: [String], configure: (inout CaptureOptions) -> Void = { _ in }) -> CaptureError? {
        var o = box.options(tables: tables)
        o.endpos = .zero
        o.maxReconnectAttempts = 0
        configure(&o)
        do {
            try CaptureService(options: o, logger: box.logger).run()
            return nil
        } catch let e as CaptureError {
            return e
        } catch {
            XCTFail("not a CaptureError: \(error)")
            return nil
        }
    }

    func testBadConnectionStringsNeverShowThePassword() throws {
        try forEachServer { box in
            for bad in ["host=127.0.0.1 port=1 user=x password=hunter2-secret connect_timeout=2",
                        "postgresql://x:hunter2-secret@127.0.0.1:1/db?connect_timeout=2",
                        "host=127.0.0.1 port=notaport password=hunter2-secret"] {
                let e = Self.runError(box, tables: ["public.t"]) { $0.source = bad }
                XCTAssertEqual(e?.code, .connection)
                XCTAssertFalse("\(e!)".contains("hunter2"), "\(e!)")
                XCTAssertTrue("\(e!)".contains("check --source"), "\(e!)")
                XCTAssertFalse("\(e!)".contains("\n"))
            }
            XCTAssertEqual(ConnectionString.redacted("postgresql://u:pw@h/db"), "postgresql://u:****@h/db")
            XCTAssertEqual(ConnectionString.redacted("host=h password='a b' user=u"), "host=h password=**** user=u")
        }
    }

    func testMissingTableTableWithoutKeyAndRoleWithoutReplication() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE nokey (a int, b text)")
            let missing = Self.runError(box, tables: ["public.absent"])
            XCTAssertEqual(missing?.code, .tableMissing)
            XCTAssertTrue("\(missing!)".contains("public.absent does not exist"), "\(missing!)")
            let nokey = Self.runError(box, tables: ["public.nokey"])
            XCTAssertEqual(nokey?.code, .noReplicaIdentity)
            XCTAssertTrue("\(nokey!)".contains("ALTER TABLE \"public\".\"nokey\" REPLICA IDENTITY FULL;"), "\(nokey!)")
            try? box.sql("DROP ROLE IF EXISTS lb_noreplication")
            try box.sql("CREATE ROLE lb_noreplication LOGIN")
            let role = Self.runError(box, tables: ["public.nokey"]) { $0.source += " user=lb_noreplication" }
            XCTAssertEqual(role?.code, .noReplicationPrivilege)
            XCTAssertTrue("\(role!)".contains("ALTER ROLE"), "\(role!)")
            // Nothing was created by the refused runs.
            XCTAssertEqual(try box.sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '\(box.slot)'").scalar, "0")
            XCTAssertEqual(try box.sql("SELECT count(*) FROM pg_publication").scalar, "0")
        }
    }

    func testAnArchiveOfAnotherDatabaseIsRefused() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY)")
            _ = try box.captureToNow(["public.t"])
            let other = try box.scratchDatabase("other")
            try PostgresConnection(conninfo: other).query("CREATE TABLE t (id int PRIMARY KEY)")
            let e = Self.runError(box, tables: ["public.t"]) { $0.source = other }
            XCTAssertEqual(e?.code, .archiveMismatch)
            XCTAssertTrue("\(e!)".contains("belongs to database"), "\(e!)")
        }
    }

    func testWalLevelReplicaIsRefusedWithHowToFixIt() throws {
        guard let conninfo = ProcessInfo.processInfo.environment["LOGBOOK_TEST_PG15_REPLICA"] else {
            return XCTFail("LOGBOOK_TEST_PG15_REPLICA is not set: run the suite with `make test`")
        }
        let archive = NSTemporaryDirectory() + "logbook-wal-\(UUID().uuidString)"
        var o = CaptureOptions(source: conninfo, archive: archive, tables: ["public.t"])
        o.endpos = .zero
        XCTAssertThrowsError(try CaptureService(options: o, logger: .init(label: "t")).run()) { e in
            XCTAssertEqual((e as? CaptureError)?.code, .walLevel)
            XCTAssertTrue("\(e)".contains("ALTER SYSTEM SET wal_level = logical"), "\(e)")
        }
    }

    /// The command line: one line on stderr, exit status 1, and the password neither there nor in `ps`.
    func testTheCommandLinePrintsOneLineAndHidesThePasswordFromPs() throws {
        try forEachServer { box in
            let bad = try LogbookBinary.run(["run", "--source", "host=127.0.0.1 port=1 password=hunter2-secret connect_timeout=2",
                                             "--archive", box.archive, "--tables", "public.t"])
            XCTAssertEqual(bad.status, 1)
            XCTAssertEqual(bad.err.split(separator: "\n").count, 1, bad.err)
            XCTAssertTrue(bad.err.hasPrefix("logbook: error: cannot connect to the source"), bad.err)
            XCTAssertFalse(bad.err.contains("hunter2"))

            try box.sql("CREATE TABLE t (id int PRIMARY KEY)")
            let running = try LogbookBinary.start(["run", "--source", box.conninfo + " password=hunter2-secret",
                                                   "--archive", box.archive, "--tables", "public.t", "--slot", box.slot, "--publication", box.slot])
            try waitUntil("the archiver is streaming") {
                try box.sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '\(box.slot)' AND active").scalar == "1"
            }
            let cmdline = try String(decoding: Data(contentsOf: URL(fileURLWithPath: "/proc/\(running.process.processIdentifier)/cmdline")), as: UTF8.self)
            XCTAssertTrue(cmdline.contains("password=****"), cmdline)
            XCTAssertFalse(cmdline.contains("hunter2"), "ps shows the password: \(cmdline)")
            running.process.terminate() // SIGTERM
            running.process.waitUntilExit()
            XCTAssertEqual(running.process.terminationStatus, 0, "SIGTERM is a clean stop")
            let log = String(decoding: running.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            XCTAssertTrue(log.contains("stopped"), log)
            XCTAssertFalse(log.contains("hunter2"), log)
        }
    }
}
