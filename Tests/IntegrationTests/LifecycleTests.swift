import Archive
import Capture
import Foundation
import OffSite
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
                try ArchiveDirectory(box.archive).sealedSegments().contains { try SegmentScanner.footer(of: $0, key: nil).transactions == 1 }
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

/// A TCP port that takes connections and never answers: an upload to it stays in flight.
final class SilentEndpoint {
    let fd: Int32
    let port: Int
    init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = self.fd
        try withUnsafeMutablePointer(to: &addr) { p in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
                guard bind(fd, sp, len) == 0, getsockname(fd, sp, &len) == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
            }
        }
        port = Int(UInt16(bigEndian: addr.sin_port))
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }
    /// Connections taken so far (kept open, never answered).
    var accepted: [Int32] = []
    func acceptPending() -> Int {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { break }
            accepted.append(c)
        }
        return accepted.count
    }
    deinit { accepted.forEach { close($0) }; close(fd) }
}

extension LifecycleTests {
    /// SIGTERM while a file is being sent to a store that does not answer: the archiver stops
    /// within the upload's grace, exit 0, nothing recorded as uploaded; a restart with the store
    /// back sends everything, and a replay from the bucket equals the live table.
    func testSIGTERMDuringAnUploadStopsCleanlyAndTheNextStartSendsIt() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            try box.sql("INSERT INTO t SELECT g, 'v ' || g FROM generate_series(1, 2000) g")
            let silent = try SilentEndpoint()
            let bucket = "sigterm-\(box.server)"
            let url = "s3://\(bucket)/a"
            let base = ["run", "--source", box.conninfo, "--archive", box.archive, "--tables", "public.t", "--slot", box.slot,
                        "--publication", box.slot, "--flush-interval", "0.2", "--s3-url", url]
            let first = try LogbookBinary.start(base + ["--s3-endpoint", "http://127.0.0.1:\(silent.port)"], env: MotoServer.env)
            try waitUntil(timeout: 60, "an upload is in flight to the silent store") { silent.acceptPending() > 0 }
            let began = Date()
            kill(first.process.processIdentifier, SIGTERM)
            let (_, errData) = first.readBoth()
            first.process.waitUntilExit()
            let err = String(decoding: errData, as: UTF8.self)
            XCTAssertEqual(first.process.terminationStatus, 0, "[\(box.server)] \(err.suffix(800))")
            XCTAssertLessThan(Date().timeIntervalSince(began), 40, "[\(box.server)] the upload's grace bounds the shutdown")
            XCTAssertTrue(err.contains("upload stopped at shutdown"), "[\(box.server)] \(err.suffix(800))")
            XCTAssertTrue(UploadLedger.read(ArchiveDirectory(box.archive))?.objects.isEmpty ?? true, "[\(box.server)] nothing the store did not confirm is recorded")

            // The store is back; more changes; a restart archives them and sends every file.
            let moto = try MotoServer()
            try moto.start()
            defer { moto.stop() }
            try moto.boto("s3.create_bucket(Bucket='\(bucket)')")
            try box.sql("UPDATE t SET v = 'after the stop' WHERE id % 3 = 0; DELETE FROM t WHERE id > 1900")
            let second = try LogbookBinary.run(base + ["--s3-endpoint", moto.endpoint, "--endpos", try box.currentLSN().description],
                                               timeout: 120, env: MotoServer.env)
            XCTAssertEqual(second.status, 0, second.err)
            let dir = ArchiveDirectory(box.archive)
            let local = try dir.sealedSegments().count + dir.baseFiles().count + 1
            XCTAssertGreaterThanOrEqual(UploadLedger.read(dir)?.objects.count ?? 0, local, "[\(box.server)] every sealed file is confirmed")
            let target = try box.scratchDatabase("fromstore")
            let cache = NSTemporaryDirectory() + "logbook-cache-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: cache) }
            let replay = try LogbookBinary.run(["replay", "--archive", url, "--s3-endpoint", moto.endpoint, "--cache-dir", cache,
                                                "--table", "public.t", "--target", target], env: MotoServer.env)
            XCTAssertEqual(replay.status, 0, replay.err)
            assertSameRows(try box.dump("t", on: target), try box.dump("t"), "[\(box.server)] replay from the bucket after a SIGTERM during an upload")
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
