import Archive
import Capture
import Foundation
import LibPQ
import Operate
import PGWire
import Replay
import XCTest

/// Any second of the archive restores, quiet ones included, and replays taken while the archiver
/// writes agree with themselves (issue: one point per replay, and a watermark).
final class PointInTimeTests: XCTestCase {
    /// The rows of a replay to a COPY file, sorted (base rows come in the base copy's order).
    func sortedLines(_ path: String) throws -> [String] {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self).split(separator: "\n").map(String.init).sorted()
    }

    func testLatestReplaysWhileTheArchiverWritesEachEqualTheirReportedPosition() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE events (id bigint PRIMARY KEY, driver int NOT NULL, note text)")
            try box.sql("CREATE TABLE certs (id int PRIMARY KEY, n int NOT NULL)")
            try box.sql("INSERT INTO events SELECT g, g % 17, md5(g::text) FROM generate_series(1, 3000) g")
            try box.sql("INSERT INTO certs SELECT g, 0 FROM generate_series(1, 200) g")
            let capture = BackgroundCapture(box.options(tables: ["public.events", "public.certs"]), logger: box.logger)
            try box.waitUntilStreaming()
            // Writes to every archived table, until told to stop (bounded in count too).
            let writing = RunFlag()
            let writerDone = DispatchSemaphore(value: 0)
            let conninfo = box.conninfo
            Thread {
                defer { writerDone.signal() }
                guard let c = try? PostgresConnection(conninfo: conninfo) else { return }
                var i = 3001
                while writing.isOn && i < 100_000 {
                    _ = try? c.query("BEGIN")
                    _ = try? c.query("INSERT INTO events SELECT g, g % 17, md5(g::text) FROM generate_series(\(i), \(i + 49)) g")
                    _ = try? c.query("UPDATE events SET note = 'edited \(i)' WHERE id = \(i % 3000 + 1)")
                    _ = try? c.query("DELETE FROM events WHERE id = \(i - 25)")
                    _ = try? c.query("UPDATE certs SET n = n + 1 WHERE id = \(i % 200 + 1)")
                    _ = try? c.query("COMMIT")
                    i += 50
                    usleep(5_000)   // pacing: a steady stream of commits, not a flood
                }
            }.start()
            var writerStopped = false
            func stopWriter() { if !writerStopped { writing.clear(); writerDone.wait(); writerStopped = true } }
            defer { stopWriter() }
            let dir = NSTemporaryDirectory() + "live-replays-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var results: [(table: String, path: String?, target: String?, end: LSN)] = []
            let archive = ArchiveDirectory(box.archive)
            for n in 0..<20 {
                // Each replay starts after the archive grew: every one races the writer.
                let previous = results.last?.end ?? .zero
                try waitUntil(timeout: 30, "the archive grows") { (try ArchiveView.take(archive).end.lsn ?? .zero) > previous }
                let table = n % 2 == 0 ? "public.events" : "public.certs"
                if n % 5 == 4 {
                    let target = try box.scratchDatabase("live\(n)")
                    let r = try Replay(box).run(table: table, target: target)
                    XCTAssertTrue(r.summary.contains("as of \(r.endLSN)"), r.summary)
                    results.append((table, nil, target, r.endLSN))
                } else {
                    let path = "\(dir)/\(n).copy"
                    let r = try Replay(box).toFile(table: table, path: path, format: "copy")
                    results.append((table, path, nil, r.endLSN))
                }
            }
            stopWriter()
            try box.waitUntilConfirmed(try box.currentLSN())
            try capture.stop()
            XCTAssertEqual(Set(results.map(\.end)).count, 20, "[\(box.server)] the archive grew between the replays")
            for (n, r) in results.enumerated() {
                if let path = r.path {
                    let again = "\(dir)/\(n).again"
                    try Replay(box).toFile(table: r.table, path: again, format: "copy", point: .lsn(r.end))
                    XCTAssertEqual(try sortedLines(path), try sortedLines(again), "[\(box.server)] replay \(n) of \(r.table) at \(r.end)")
                } else if let target = r.target {
                    let other = try box.scratchDatabase("again\(n)")
                    try Replay(box).run(table: r.table, target: other, point: .lsn(r.end))
                    let name = String(r.table.dropFirst("public.".count))
                    assertSameRows(try box.dump(name, on: target), try box.dump(name, on: other), "[\(box.server)] replay \(n) at \(r.end)")
                }
            }
        }
    }

    func testAQuietMomentAfterTheLastCommitRestoresAndAStoppedArchiverIsNotTrusted() throws {
        try forEachServer { box in
            try box.sql("CREATE TABLE certifications (id int PRIMARY KEY, driver text NOT NULL, day date NOT NULL)")
            try box.sql("INSERT INTO certifications SELECT g, 'driver ' || g, DATE '2026-11-01' + g % 30 FROM generate_series(1, 500) g")
            var o = box.options(tables: ["public.certifications"])
            o.watermarkInterval = 0.5
            let capture = BackgroundCapture(o, logger: box.logger)
            try box.waitUntilStreaming()
            try box.sql("UPDATE certifications SET driver = 'night shift' WHERE id <= 10")
            let committed = try box.sql("SELECT clock_timestamp()").scalar ?? ""
            // A quiet stretch: nothing is written for a few seconds, past several watermark intervals.
            try waitUntil(timeout: 30, "3 s of quiet on the server's clock") {
                try box.sql("SELECT clock_timestamp() > '\(committed)'::timestamptz + interval '3 seconds'").scalar == "t"
            }
            let quietMicros = Int64(try box.sql("SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint").scalar ?? "")!
            let quiet = PGTimestamp(rawValue: quietMicros - PGTimestamp.epochOffsetSeconds * 1_000_000)
            let quietLSN = try box.currentLSN()
            try waitUntil(timeout: 30, "the watermark passes the quiet moment") {
                let s = try ArchiveStatus.read(archive: box.archive)
                return (s.restorableUntilMicros ?? 0) >= quiet.rawValue && (s.restorableUntilLSN.flatMap { LSN(string: $0) } ?? .zero) >= quietLSN
            }
            let want = try box.dump("certifications").split(separator: "\n").map(String.init).sorted()
            let dir = NSTemporaryDirectory() + "quiet-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try Replay(box).toFile(table: "public.certifications", path: dir + "/t.copy", format: "copy", point: .time(quiet))
            XCTAssertEqual(try sortedLines(dir + "/t.copy"), want, "[\(box.server)] --at the quiet moment")
            try Replay(box).toFile(table: "public.certifications", path: dir + "/l.copy", format: "copy", point: .lsn(quietLSN))
            XCTAssertEqual(try sortedLines(dir + "/l.copy"), want, "[\(box.server)] --at-lsn the quiet position")
            // The status of a healthy archiver on an idle database is not stale.
            let healthy = try ArchiveStatus.read(archive: box.archive)
            XCTAssertEqual(healthy.breaches(maxAge: 30, maxLag: nil), [], "[\(box.server)]")
            XCTAssertNotNil(healthy.watermarkLSN)
            try capture.stop()
            // Stopped: a later moment is refused, naming the watermark.
            try box.sql("UPDATE certifications SET driver = 'after the stop' WHERE id = 1")
            try waitUntil(timeout: 30, "time passes on the server") {
                try box.sql("SELECT clock_timestamp() > '\(quiet)'::timestamptz + interval '1 second'").scalar == "t"
            }
            let later = try ReplayPoint.parseTime(try box.sql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')").scalar ?? "")
            XCTAssertThrowsError(try Replay(box).toFile(table: "public.certifications", path: dir + "/x.copy", format: "copy", point: .time(later))) { e in
                XCTAssertTrue("\(e)".contains("after the archive's watermark"), "[\(box.server)] \(e)")
            }
            XCTAssertThrowsError(try Replay(box).toFile(table: "public.certifications", path: dir + "/y.copy", format: "copy",
                                                        point: .lsn(try box.currentLSN()))) { e in
                XCTAssertTrue("\(e)".contains("after the archive's watermark"), "[\(box.server)] \(e)")
            }
            let stale = try ArchiveStatus.read(archive: box.archive)
            XCTAssertEqual(stale.breaches(maxAge: 0.5, maxLag: nil, now: later.date.addingTimeInterval(1)).count, 1, "[\(box.server)] a stopped archiver is stale")
        }
    }
}
