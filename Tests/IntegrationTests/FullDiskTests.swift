import Archive
import Capture
import Foundation
import OffSite
import Operate
import Replay
import Synchronization
import XCTest

/// A full disk (`ENOSPC`) injected into each system call of every write path: capture (segments),
/// the spool of a streamed transaction, base copies, replay to a file and the bucket's local cache.
/// Each failure is one line that names the fix; nothing is confirmed that is not durable; once
/// space returns, the next run goes on and the result equals the source.
final class FullDiskTests: XCTestCase {
    override func tearDown() { FileIO.faultInjector = nil }

    /// Every `call` on a path `matching` fails with ENOSPC until `FileIO.faultInjector` is reset;
    /// returns how many calls were failed (so a test knows the call was reached).
    func fill(_ call: FileIO.Call, _ matching: @escaping @Sendable (String) -> Bool) -> Counter {
        let hits = Counter()
        FileIO.faultInjector = { c, path in
            guard c == call, matching(path) else { return nil }
            hits.add()
            return ENOSPC
        }
        return hits
    }

    final class Counter: Sendable {
        private let n = Mutex(0)
        func add() { n.withLock { $0 += 1 } }
        var value: Int { n.withLock { $0 } }
    }

    func assertOneLineNamingTheFix(_ e: Error, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let text = "\(e)"
        XCTAssertFalse(text.contains("\n"), "\(what): one line: \(text)", file: file, line: line)
        XCTAssertTrue(text.contains("No space left on device") && text.contains("free disk space"), "\(what): names the cause and the fix: \(text)",
                      file: file, line: line)
    }

    func testAFullDiskAtEachCallOfCaptureSpoolAndBaseCopyLosesNothing() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            try box.sql("INSERT INTO t SELECT g, 'v ' || g FROM generate_series(1, 500) g")
            let small = { (o: inout CaptureOptions) in o.source += " options='-c logical_decoding_work_mem=64kB'" }

            // The first base copy: nothing counts as taken until it is complete.
            for call in [FileIO.Call.open, .write, .fsync, .rename] {
                let hits = fill(call) { $0.contains("/base/") }
                XCTAssertThrowsError(try box.captureToNow(["public.t"], configure: small)) { e in
                    assertOneLineNamingTheFix(e, "[\(box.server)] base copy, \(call)")
                }
                FileIO.faultInjector = nil
                XCTAssertGreaterThan(hits.value, 0, "[\(box.server)] \(call) of a base copy was reached")
                XCTAssertEqual(try ArchiveDirectory(box.archive).baseFiles(), [], "[\(box.server)] no base copy after a failed \(call)")
            }
            _ = try box.captureToNow(["public.t"], configure: small)
            XCTAssertEqual(try ArchiveDirectory(box.archive).baseFiles().count, 1)

            // Segments: writing a frame, its fsync, opening a new segment, sealing it, and the
            // recovery (truncate) of the one a failed fsync left open.
            var round = 0
            for call in [FileIO.Call.write, .fsync, .truncate, .open, .rename] {
                round += 1
                try box.sql("UPDATE t SET v = 'round \(round)' WHERE id % \(round + 1) = 0; INSERT INTO t VALUES (\(1000 + round), 'new')")
                let hits = fill(call) { $0.contains("/segments/") }
                XCTAssertThrowsError(try box.captureToNow(["public.t"], configure: small)) { e in
                    assertOneLineNamingTheFix(e, "[\(box.server)] segment, \(call)")
                }
                FileIO.faultInjector = nil
                XCTAssertGreaterThan(hits.value, 0, "[\(box.server)] \(call) of a segment was reached")
                if call == .fsync { continue } // the open segment it leaves is recovered (truncate) next
                // Nothing was confirmed that is not durable: the next start finds the slot within the archive.
                _ = try box.captureToNow(["public.t"], configure: small)
            }

            // The spool of a transaction streamed before its commit.
            for call in [FileIO.Call.open, .write] {
                round += 1
                try box.sql("UPDATE t SET v = repeat('streamed \(round) ', 40)")
                let hits = fill(call) { $0.hasSuffix(".spool") }
                XCTAssertThrowsError(try box.captureToNow(["public.t"], configure: small)) { e in
                    assertOneLineNamingTheFix(e, "[\(box.server)] spool, \(call)")
                }
                FileIO.faultInjector = nil
                XCTAssertGreaterThan(hits.value, 0, "[\(box.server)] \(call) of a spool was reached")
                _ = try box.captureToNow(["public.t"], configure: small)
            }

            // Space is back: every change is in the archive exactly once.
            XCTAssertTrue(try ArchiveVerifier.verify(archive: box.archive).ok)
            try box.assertLatestReplayEqualsLive("t", "[\(box.server)] after a full disk at every call")
        }
    }

    func testAFullDiskDuringAReplayToAFileLeavesWhatWasThere() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            try box.sql("INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 30000) g")
            _ = try box.captureToNow(["public.t"])
            let folder = NSTemporaryDirectory() + "logbook-fulldisk-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let output = folder + "/t.copy"
            try Data("an earlier export\n".utf8).write(to: URL(fileURLWithPath: output))
            for call in [FileIO.Call.open, .write, .fsync, .rename] {
                let hits = fill(call) { $0.hasPrefix(folder) }
                XCTAssertThrowsError(try Replay(box).toFile(table: "public.t", path: output, format: "copy")) { e in
                    assertOneLineNamingTheFix(e, "[\(box.server)] replay --output, \(call)")
                }
                FileIO.faultInjector = nil
                XCTAssertGreaterThan(hits.value, 0, "[\(box.server)] \(call) of the output was reached")
                XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), "an earlier export\n", "[\(box.server)] \(call): the file is as it was")
                XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["t.copy"], "[\(box.server)] \(call): nothing left beside it")
            }
            let r = try Replay(box).toFile(table: "public.t", path: output, format: "copy")
            XCTAssertEqual(r.rows, 30000)
            let live = try box.dump("t")
            let written = try String(contentsOfFile: output, encoding: .utf8)
            XCTAssertEqual(written.split(separator: "\n").sorted(), live.split(separator: "\n").sorted(), "[\(box.server)] once space is back")
        }
    }

    func testAFullDiskInTheBucketsLocalCacheIsOneLineAndTheNextReadCompletes() throws {
        try forEachServer { box in
            let moto = try MotoServer()
            try moto.start()
            defer { moto.stop() }
            let bucket = "cache-\(box.server)"
            try moto.boto("s3.create_bucket(Bucket='\(bucket)')")
            try box.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
            try box.sql("INSERT INTO t SELECT g, 'v' FROM generate_series(1, 1000) g")
            let url = "s3://\(bucket)/a"
            let r = try LogbookBinary.run(["run", "--source", box.conninfo, "--archive", box.archive, "--tables", "public.t", "--slot", box.slot,
                                           "--publication", box.slot, "--endpos", try box.currentLSN().description,
                                           "--s3-url", url, "--s3-endpoint", moto.endpoint], env: MotoServer.env)
            XCTAssertEqual(r.status, 0, r.err)
            let config = try S3Config.resolve(url: url, endpoint: moto.endpoint, region: nil, serverSideEncryption: nil, environment: MotoServer.env)
            let cache = NSTemporaryDirectory() + "logbook-cache-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: cache) }
            for call in [FileIO.Call.open, .write, .fsync, .rename] {
                // The download is written beside its final name, then renamed onto it.
                let hits = fill(call) { $0.hasPrefix(cache) && (call == .rename || $0.hasSuffix(".download")) }
                XCTAssertThrowsError(try RemoteArchive.materialize(config, cache: cache, logger: box.logger)) { e in
                    assertOneLineNamingTheFix(e, "[\(box.server)] cache, \(call)")
                }
                FileIO.faultInjector = nil
                XCTAssertGreaterThan(hits.value, 0, "[\(box.server)] \(call) of a cached file was reached")
                let partials = (FileManager.default.enumerator(atPath: cache)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".download") }
                XCTAssertEqual(partials, [], "[\(box.server)] \(call): no half-written download left")
            }
            let local = try RemoteArchive.materialize(config, cache: cache, logger: box.logger)
            let target = try box.scratchDatabase("cached")
            var request = ReplayRequest(archive: local, table: "public.t", point: .latest, destination: .database(conninfo: target, into: nil, replace: false))
            request.allowGap = false
            _ = try Replayer(request, logger: box.logger).run()
            assertSameRows(try box.dump("t", on: target), try box.dump("t"), "[\(box.server)] from the cache once space is back")
        }
    }
}
