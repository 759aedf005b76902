import Archive
import Foundation
import LibPQ
import Logging
import PGWire

/// What `logbook replay` is asked to do.
public struct ReplayRequest: Sendable {
    public enum Destination: Sendable {
        case database(conninfo: String, into: String?, replace: Bool)
        case file(path: String, format: String)
    }
    public var archive: String
    public var table: String
    public var point: ReplayPoint
    public var destination: Destination
    /// Memory for the folded rows, in bytes; beyond it the fold runs in several passes, each over a share of the keys.
    public var foldMemory: Int
    /// Go on across a broken chain of segments (missing, foreign, replaced, reordered), naming it in the result.
    public var allowGap: Bool
    /// A partitioned table rebuilt as a plain table (its partitions' rows in one table).
    public var flatten = false
    /// The archive's encryption key (nil for a clear archive).
    public var encryptionKey: ArchiveKey?
    /// A set of tables restored at one point (`--tables`); with `all`, every table of the archive. Nil: `table` alone.
    public var tables: [String]?
    public var all = false
    /// What a restore into a database leaves out knowingly (`--no-owner`, `--no-privileges`, `--no-policies`, `--no-triggers`).
    public var omit = ObjectSQL.Omit()
    /// Rolls the replay back from a signal handler (the command line's).
    public var interrupt: ReplayInterrupt?
    /// Only the rows, into tables the target already has (`--data-only`).
    public var dataOnly = false
    public var isSet: Bool { all || tables != nil }
    public init(archive: String, table: String, point: ReplayPoint, destination: Destination, foldMemory: Int = 1 << 30, allowGap: Bool = false) {
        self.archive = archive; self.table = table; self.point = point; self.destination = destination; self.foldMemory = foldMemory
        self.allowGap = allowGap
    }
}

public struct ReplayResult: Sendable {
    public var rows: Int
    /// Passes the fold took over the archive (more than one when it was folded in shares to fit its memory).
    public var foldPasses: Int
    /// Folded newest first: each key's final row found reading the archive backwards (a database
    /// destination, when the table's columns held still through the archive and the fold fit its memory).
    public var foldedNewestFirst = false
    public var changesFolded: Int
    public var transactionsApplied: Int
    public var baseLSN: LSN
    /// Where the archive was read to (the end of its restorable window when the replay started):
    /// the same replay of the latest state again is `--at-lsn` this position.
    public var endLSN: LSN
    public var endTime: PGTimestamp
    /// Seconds spent checking the chain of segments (identity, hash links, order) before any row was read.
    public var chainCheckSeconds: Double = 0
    public var summary: String
    /// The table's definition at the point (the columns of the rows written, in order; its key).
    public var definition: TableDefinition?
}

/// Rebuilds one table as of a point: picks the newest base copy that serves the point, folds
/// the archived changes after it per key, then loads base and net changes in bulk.
public final class Replayer {
    let request: ReplayRequest
    let logger: Logger
    let archive: ArchiveDirectory
    let table: (schema: String, name: String)

    public init(_ request: ReplayRequest, logger: Logger) throws {
        self.request = request
        self.logger = logger
        archive = ArchiveDirectory(request.archive, key: request.encryptionKey)
        table = request.isSet ? ("", "") : try Self.parseName(request.table)
    }

    /// `schema.table` as PostgreSQL spells it (quoted parts keep their case).
    static func parseName(_ s: String) throws -> (schema: String, name: String) {
        do {
            let q = try QualifiedName(parsing: s)
            return (q.schema, q.name)
        } catch let e as QualifiedName.ParseError {
            throw ReplayError(.invalidOption, e.description, fix: "write schema.table; quote a part that has capitals, spaces or dots: '\"Fleet Ops\".\"Driver Notes\"'")
        }
    }

    var qualified: String { QualifiedName(schema: table.schema, name: table.name).description }

    /// The point as resolved: the latest state is named by the position and time it reached.
    static func asOf(_ point: ReplayPoint, plan: ReplayPlan) -> String {
        switch point {
        case .latest: return "\(plan.endLSN), \(plan.endTime)"
        default: return "\(point) (archive read to \(plan.endLSN), \(plan.endTime))"
        }
    }

    public func run() throws -> ReplayResult {
        if request.isSet { return try runSet() }
        _ = try archive.requireIdentity()
        let started = DispatchTime.now().uptimeNanoseconds
        let view = try ArchiveView.take(archive, allowGaps: request.allowGap)
        let chainCheck = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let plan = try ReplayPlanner(archive: archive, table: qualified, view: view).plan(request.point)
        var sink: RowSink?
        do {
            let built = try Self.rebuild(plan: plan, archive: archive, table: qualified, foldMemory: request.foldMemory,
                                         flatten: request.flatten, newestFirst: { if case .database = request.destination { return true } else { return false } }(),
                                         logger: logger) { _ in
                let made = try makeSink()
                sink = made
                return made
            }
            let finishing = DispatchTime.now().uptimeNanoseconds
            let summary = try built.sink.finish(rows: built.rows)
            logger.debug("replay phase", metadata: ["done": "finish (key, indexes, swap)",
                                                    "seconds": "\(String(format: "%.3f", Double(DispatchTime.now().uptimeNanoseconds - finishing) / 1e9))"])
            var result = ReplayResult(rows: built.rows, foldPasses: built.foldPasses, changesFolded: built.changes,
                                transactionsApplied: built.transactions, baseLSN: plan.base.header.lsn,
                                endLSN: plan.endLSN, endTime: plan.endTime, chainCheckSeconds: chainCheck,
                                summary: "\(summary) as of \(Self.asOf(request.point, plan: plan)) (base \(plan.base.header.lsn), \(built.transactions) transactions, \(built.changes) changes folded; chain of \(view.files.count) segments checked in \(String(format: "%.3f", chainCheck)) s)"
                                    + view.problems.map { "\nWARNING (--allow-gap): \($0)" }.joined(),
                                definition: built.definition)
            result.foldedNewestFirst = built.newestFirst
            return result
        } catch {
            sink?.abort()
            throw error
        }
    }

    /// The destination the request names.
    func makeSink() throws -> RowSink {
        switch request.destination {
        case .file(let path, let format):
            guard let f = FileSink.Format(rawValue: format) else {
                throw ReplayError(.invalidOption, "unknown --format \(format)", fix: "use csv, copy or sql")
            }
            return try FileSink(path: path, format: f)
        case .database(let conninfo, let into, let replace):
            let c: PostgresConnection
            do { c = try PostgresConnection(conninfo: conninfo, applicationName: "logbook-replay") } catch let e as PostgresError {
                throw ReplayError(.target, "cannot connect to the target: \(e.message)", fix: "check --target")
            }
            let dest: (String, String)
            if let into {
                dest = try Self.parseName(into)
            } else {
                dest = table
            }
            let live = try guardAgainstSource(c, target: dest, replace: replace || request.dataOnly)
            if live && request.dataOnly {
                throw ReplayError(.invalidOption, "--data-only into the live table of the source database",
                                  fix: "restore the live table in place with --replace (one transaction, archived), or --data-only into a staging database")
            }
            let sink = DatabaseSink(conn: c, target: dest, replace: replace, inPlace: live, logger: logger) {
                try PostgresConnection(conninfo: conninfo, applicationName: "logbook-replay")
            }
            sink.omit = request.omit
            sink.interrupt = request.interrupt
            sink.dataOnly = request.dataOnly
            return sink
        }
    }

    /// Never write over the archived table in its own source database unless told to. Returns true
    /// when the target is that live table (restored in place, so the archive records the restore).
    func guardAgainstSource(_ conn: PostgresConnection, target: (String, String), replace: Bool) throws -> Bool {
        let id = try archive.requireIdentity()
        let sys = try conn.query("SELECT system_identifier::text FROM pg_control_system()").scalar ?? ""
        let isSource = sys == id.systemIdentifier && conn.databaseName == id.database
        if isSource && target == table {
            guard replace else {
                throw ReplayError(.targetExists, "the target is the source database and \(qualified) is the live table",
                                  fix: "replay --into another table, or pass --replace to overwrite the live table's rows in one transaction")
            }
            logger.warning("REPLACING THE ROWS OF THE LIVE TABLE \(qualified) IN THE SOURCE DATABASE with its archived state (TRUNCATE + INSERT in one transaction, archived like any other); writes to it after that point are gone from the table (they stay in the archive)")
            return true
        }
        return false
    }
}

extension Replayer {
    /// `logbook schema`: the statements that recreate the table as it was at the point.
    public static func schemaStatements(archive path: String, key: ArchiveKey? = nil, table: String, point: ReplayPoint, logger: Logger) throws -> [String] {
        _ = try ArchiveDirectory(path, key: key).requireIdentity()
        let def = try schemaDefinition(archive: path, key: key, table: table, point: point, logger: logger)
        return SchemaSQL.fullStatements(def, as: (def.schema, def.name))
    }
}

extension Replayer {
    /// The table's definition as of the point (what a replay there would create).
    public static func schemaDefinition(archive path: String, key: ArchiveKey? = nil, table name: String, point: ReplayPoint, logger: Logger) throws -> TableDefinition {
        let archive = ArchiveDirectory(path, key: key)
        let n = try parseName(name)
        let table = QualifiedName(schema: n.schema, name: n.name).description
        let plan = try ReplayPlanner(archive: archive, table: table).plan(point)
        let scan = try ChangeScan(archive: archive, table: table, plan: plan, logger: logger)
        try scan.run(.shape)
        return scan.definition
    }

    /// The table's column names as of the point.
    public static func schemaColumns(archive path: String, key: ArchiveKey? = nil, table name: String, point: ReplayPoint, logger: Logger) throws -> [String] {
        try schemaDefinition(archive: path, key: key, table: name, point: point, logger: logger).columns.map(\.name)
    }
}
