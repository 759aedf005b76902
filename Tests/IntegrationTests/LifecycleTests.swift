import Archive
import Capture
import Foundation
import LibPQ
import Operate
import Sidecar
import XCTest

/// `logbook run` as one service group: it runs in-process as the command runs it; SIGTERM during a
/// base copy and during a streamed transaction stops it cleanly (exit 0), and a restart archives
/// everything, so that a replay equals the live table.
final class LifecycleTests: XCTestCase {
    func testTheSidecarRunsInProcessToEndposWithItsServices() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            try box.sql("INSERT INTO t SELECT g, 'v' FROM generate_series(1, 1000) g")
            var config = SidecarConfiguration(capture: box.options(tables: ["public.t"]))
            config.capture.endpos = try box.currentLSN()
            config.capture.segment.rollBytes = 1
            config.compactEvery = 0.001 // compaction due at once: the maintenance service runs and is joined
            config.metricsAddress = "127.0.0.1:0"
            let sidecar = Sidecar(configuration: config, logger: box.logger)
            let done = expectation(description: "the group ends at endpos")
            let failure = LockedBox<(any Error)?>(nil)
            Task {
                do { try await sidecar.run(signals: false) } catch { failure.value = error }
                done.fulfill()
            }
            wait(for: [done], timeout: 120)
            XCTAssertNil(failure.value, "[\(box.server)] \(String(describing: failure.value))")
            try box.assertLatestReplayEqualsLive("t", "[\(box.server)] in-process sidecar")
            // Nothing of the group is left running: a second run takes the archive's lock at once.
            try box.sql("UPDATE t SET v = 'again' WHERE id <= 10")
            config.capture.endpos = try box.currentLSN()
            let again = expectation(description: "second run")
            let second = Sidecar(configuration: config, logger: box.logger)
            Task {
                do { try await second.run(signals: false) } catch { failure.value = error }
                again.fulfill()
            }
            wait(for: [again], timeout: 120)
            XCTAssertNil(failure.value, "[\(box.server)] \(String(describing: failure.value))")
            try box.assertLatestReplayEqualsLive("t", "[\(box.server)] second in-process run")
        }
    }

    /// `--segment-seconds`: a segment old enough is sealed in a quiet moment, not only at the next commit
    /// (so that it is uploaded, indexed and anchored without waiting for traffic).
    func testAnOldSegmentIsSealedWhileTheDatabaseIsQuiet() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            _ = try box.captureToNow(["public.t"])
            var o = box.options(tables: ["public.t"])
            o.segment.rollSeconds = 0.5
            let capture = BackgroundCapture(o, logger: box.logger)
            try box.waitUntilStreaming()
            let before = try ArchiveDirectory(box.archive).sealedSegments().count
            try box.sql("INSERT INTO t VALUES (1, 'the only commit')")
            try waitUntil("the segment holding the commit is sealed with no commit after it") {
                try ArchiveDirectory(box.archive).sealedSegments().contains { try SegmentScanner.footer(of: $0).transactions == 1 }
            }
            XCTAssertGreaterThan(try ArchiveDirectory(box.archive).sealedSegments().count, before)
            try capture.stop()
            try box.assertLatestReplayEqualsLive("t", "[\(box.server)] after a seal in a quiet moment")
        }
    }

    /// Stopping and starting on a database that writes nothing: each stop leaves a segment of
    /// watermarks, and the next session never takes its name (the hash chain stays whole).
    func testStopsAndStartsOnAnIdleDatabaseKeepTheChain() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            try box.sql("INSERT INTO t VALUES (1, 'only row')")
            for _ in 0..<4 { _ = try box.captureToNow(["public.t"]) }
            let report = try Operate.ArchiveVerifier.verify(archive: box.archive)
            XCTAssertTrue(report.ok, "[\(box.server)] \(report.problems)")
            try box.assertLatestReplayEqualsLive("t", "[\(box.server)] after idle restarts")
        }
    }

    func run(_ box: Sandbox, extra: [String] = []) throws -> LogbookBinary.Running {
        try LogbookBinary.start(["run", "--source", box.conninfo + " options='-c logical_decoding_work_mem=64kB'", "--archive", box.archive,
                                 "--tables", "public.big", "--slot", box.slot, "--publication", box.slot, "--flush-interval", "0.2"] + extra)
    }

    func stopWithSIGTERM(_ p: LogbookBinary.Running, _ what: String) throws {
        kill(p.process.processIdentifier, SIGTERM)
        let (_, err) = p.readBoth()
        p.process.waitUntilExit()
        XCTAssertEqual(p.process.terminationStatus, 0, "\(what): \(String(decoding: err, as: UTF8.self).suffix(600))")
        XCTAssertEqual(p.process.terminationReason, .exit, what)
    }

    func testSIGTERMDuringABaseCopyAndDuringAStreamedTransactionStopsCleanly() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE big (id int PRIMARY KEY, pad text)")
            try box.sql("INSERT INTO big SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 600000) g")
            // During the initial base copy.
            let first = try run(box)
            let base = ArchiveDirectory(box.archive).basePath
            try waitUntil(timeout: 60, "the base copy is being written") {
                ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).contains { $0.hasSuffix(".partial") }
            }
            try stopWithSIGTERM(first, "[\(box.server)] SIGTERM during the base copy")
            let bases = try FileManager.default.contentsOfDirectory(atPath: base)
            XCTAssertFalse(bases.contains { $0.hasSuffix(".base") }, "[\(box.server)] a partial base copy is never taken for a finished one: \(bases)")

            // Restarted: the copy is taken again; then SIGTERM while a large transaction streams.
            let second = try run(box)
            try waitUntil(timeout: 120, "streaming after the new base copy") {
                try box.sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '\(box.slot)' AND active").scalar == "1"
                    && ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).contains { $0.hasSuffix(".base") }
            }
            let open = try box.connect()
            try open.query("BEGIN")
            try open.query("UPDATE big SET pad = 'streamed ' || id WHERE id <= 200000")
            let spools = ArchiveDirectory(box.archive).spoolPath
            try waitUntil(timeout: 60, "the open transaction is being spooled") {
                ((try? FileManager.default.contentsOfDirectory(atPath: spools)) ?? []).contains { $0.hasSuffix(".spool") }
            }
            try stopWithSIGTERM(second, "[\(box.server)] SIGTERM during a streamed transaction")
            try open.query("COMMIT")
            try box.sql("DELETE FROM big WHERE id % 1000 = 0")

            // A restart archives it all: the replay equals the live table.
            let end = try box.currentLSN()
            let third = try LogbookBinary.run(["run", "--source", box.conninfo, "--archive", box.archive, "--tables", "public.big",
                                               "--slot", box.slot, "--publication", box.slot, "--endpos", end.description], timeout: 300)
            XCTAssertEqual(third.status, 0, third.err)
            try box.assertLatestReplayEqualsLive("big", "[\(box.server)] after two SIGTERMs and a restart")
        }
    }
}

/// A value set from another task.
final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ v: T) { stored = v }
    var value: T {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
