import Archive
import Capture
import Foundation
import LibPQ
import PGWire
import XCTest

/// Nothing lost, nothing doubled: kill -9 at arbitrary moments under load, and PostgreSQL
/// restarting under a running archiver.
final class DurabilityTests: XCTestCase {
    /// Writes single-row and multi-row transactions until stopped; every id is written once.
    final class Load: @unchecked Sendable {
        let conninfo: String
        private let lock = NSLock()
        private var running = true
        private(set) var committed = 0
        let done = DispatchSemaphore(value: 0)

        init(conninfo: String, base: Int) {
            self.conninfo = conninfo
            Thread { [self] in
                defer { done.signal() }
                guard let c = try? PostgresConnection(conninfo: conninfo) else { return }
                var id = base
                while lock.withLock({ running }) {
                    id += 1
                    do {
                        if id % 10 == 0 {
                            try c.query("INSERT INTO load SELECT g, 'multi' FROM generate_series(\(id * 100), \(id * 100 + 49)) g")
                        } else {
                            try c.query("INSERT INTO load VALUES (\(id * 100), 'single')")
                        }
                        lock.withLock { committed += 1 }
                    } catch {
                        return
                    }
                }
            }.start()
        }

        func stop() {
            let wasRunning = lock.withLock { () -> Bool in defer { running = false }; return running }
            if wasRunning { done.wait() }
        }
    }

    /// How many times each id was archived.
    func archivedInsertCounts(_ box: Sandbox) throws -> [String: Int] {
        let cursor = try ArchiveCursor(archive: ArchiveDirectory(box.archive))
        var counts: [String: Int] = [:]
        while let ev = try cursor.next() {
            if case .change(.insert(let i), _) = ev, let id = i.new.values[0].textString { counts[id, default: 0] += 1 }
        }
        return counts
    }

    func testKillNineUnderLoadLosesNothingAndDoublesNothing() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE load (id bigint PRIMARY KEY, v text)")
            _ = try box.captureToNow(["public.load"]) // slot and (empty) base copy: every row below goes through the stream
            let args = ["run", "--source", box.conninfo, "--archive", box.archive, "--tables", "public.load",
                        "--slot", box.slot, "--publication", box.slot, "--flush-interval", "0.1"]
            let load = Load(conninfo: box.conninfo, base: 0)
            defer { load.stop() }
            for round in 0..<4 {
                let p = try LogbookBinary.start(args)
                // Let it archive something, then kill it at a moment that depends on the round.
                let before = try archivedCommitCount(box)
                try waitUntil("round \(round): the archiver made progress") { try archivedCommitCount(box) > before }
                usleep(UInt32(37_000 * (round + 1)))
                kill(p.process.processIdentifier, SIGKILL)
                p.process.waitUntilExit()
                XCTAssertEqual(p.process.terminationReason, .uncaughtSignal)
            }
            load.stop()
            _ = try box.captureToNow(["public.load"])
            let counts = try archivedInsertCounts(box)
            let live = Int(try box.sql("SELECT count(*) FROM load").scalar!)!
            XCTAssertEqual(counts.count, live, "[\(box.server)] every committed row is archived")
            XCTAssertEqual(counts.values.filter { $0 != 1 }.count, 0, "[\(box.server)] no row is archived twice")
            XCTAssertGreaterThan(load.committed, 20)
            try box.assertLatestReplayEqualsLive("load", "[\(box.server)] replay after four kill -9")
        }
    }

    func testPostgresRestartUnderARunningArchiver() throws {
        try forEachServer { box in
            let env = ProcessInfo.processInfo.environment
            let key = box.server.uppercased()
            guard let data = env["LOGBOOK_TEST_\(key)_DATA"], let bin = env["LOGBOOK_TEST_\(key)_BIN"] else {
                return XCTFail("LOGBOOK_TEST_\(key)_DATA/_BIN not set: run the suite with `make test`")
            }
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            var o = box.options(tables: ["public.t"])
            o.maxReconnectAttempts = 60
            let running = BackgroundCapture(o, logger: box.logger)
            try box.waitUntilStreaming()
            try box.sql("INSERT INTO t SELECT g, 'before' FROM generate_series(1, 100) g")
            let status = runCommand(["/usr/sbin/runuser", "-u", "postgres", "--", "/usr/bin/env",
                                     "LD_LIBRARY_PATH=\((bin as NSString).deletingLastPathComponent)/lib",
                                     "\(bin)/pg_ctl", "-D", data, "-l", data + "/server.log", "-m", "fast", "-w", "restart"])
            XCTAssertEqual(status, 0, "pg_ctl restart")
            try box.sql("INSERT INTO t SELECT g, 'after' FROM generate_series(101, 200) g")
            let end = try box.currentLSN()
            try box.waitUntilConfirmed(end, timeout: 60, "the archiver reconnected and confirmed past the restart", running: running)
            let stats = try running.stop()
            XCTAssertGreaterThanOrEqual(stats.reconnects, 1, "[\(box.server)] it reconnected")
            try box.assertLatestReplayEqualsLive("t", "[\(box.server)] nothing lost across the restart")
        }
    }
}

/// Committed transactions in the archive so far (sealed and open segments).
func archivedCommitCount(_ box: Sandbox) throws -> Int {
    guard FileManager.default.fileExists(atPath: box.archive + "/segments") else { return 0 }
    let cursor = try ArchiveCursor(archive: ArchiveDirectory(box.archive))
    var n = 0
    while let ev = try cursor.next() { if case .commit = ev { n += 1 } }
    return n
}
