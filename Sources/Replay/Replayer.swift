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
    public init(archive: String, table: String, point: ReplayPoint, destination: Destination) {
        self.archive = archive; self.table = table; self.point = point; self.destination = destination
    }
}

public struct ReplayResult: Sendable {
    public var rows: Int
    public var changesFolded: Int
    public var transactionsApplied: Int
    public var baseLSN: LSN
    public var summary: String
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
        archive = ArchiveDirectory(request.archive)
        let parts = request.table.split(separator: ".", maxSplits: 1).map(String.init)
        table = parts.count == 2 ? (parts[0], parts[1]) : ("public", parts[0])
    }

    var qualified: String { "\(table.schema).\(table.name)" }

    public func run() throws -> ReplayResult {
        _ = try archive.requireIdentity()
        let plan = try ReplayPlanner(archive: archive, table: qualified).plan(request.point)
        let scan = try ChangeScan(archive: archive, table: qualified, plan: plan, logger: logger)
        try scan.run(fold: true)
        let def = scan.definition
        let sink: RowSink
        var conn: PostgresConnection?
        switch request.destination {
        case .file(let path, let format):
            guard let f = FileSink.Format(rawValue: format) else {
                throw ReplayError(.invalidOption, "unknown --format \(format)", fix: "use csv, copy or sql")
            }
            sink = try FileSink(path: path, format: f)
        case .database(let conninfo, let into, let replace):
            let c: PostgresConnection
            do { c = try PostgresConnection(conninfo: conninfo, applicationName: "logbook-replay") } catch let e as PostgresError {
                throw ReplayError(.target, "cannot connect to the target: \(e.message)", fix: "check --target")
            }
            conn = c
            let dest: (String, String)
            if let into {
                let p = into.split(separator: ".", maxSplits: 1).map(String.init)
                dest = p.count == 2 ? (p[0], p[1]) : ("public", p[0])
            } else {
                dest = table
            }
            let live = try guardAgainstSource(c, target: dest, replace: replace)
            sink = DatabaseSink(conn: c, target: dest, replace: replace, inPlace: live)
        }
        try sink.begin(def)
        let rows = try Self.load(plan: plan, scan: scan, into: sink, label: qualified)
        let summary = try sink.finish(rows: rows)
        return ReplayResult(rows: rows, changesFolded: scan.fold!.changes,
                            transactionsApplied: scan.transactionsApplied, baseLSN: plan.base.header.lsn,
                            summary: "\(summary) as of \(request.point) (base \(plan.base.header.lsn), \(scan.transactionsApplied) transactions, \(scan.fold!.changes) changes folded)")
    }

    /// The base copy without the rows the fold replaces, then the folded rows. Returns the rows written.
    static func load(plan: ReplayPlan, scan: ChangeScan, into sink: RowSink, label: String) throws -> Int {
        let def = scan.definition
        let fold = scan.fold!
        var rows = try loadBase(plan.base, fold: fold, target: def, into: sink, label: label).kept
        let target = Set(def.columns.map(\.name))
        for (version, lines) in fold.finalRows() {
            let cols = fold.versions[version]
            let keep = cols.indices.filter { target.contains(cols[$0]) }
            let project = keep.count != cols.count
            var out: [UInt8] = []
            out.reserveCapacity(1 << 20)
            for line in lines {
                if project {
                    let f = line.split(separator: CopyText.tab, omittingEmptySubsequences: false)
                    for (n, i) in keep.enumerated() {
                        if n > 0 { out.append(CopyText.tab) }
                        if i < f.count { out += f[i] } else { out += CopyText.nullMarker }
                    }
                } else {
                    out += line
                }
                out.append(CopyText.newline)
                rows += 1
                if out.count > 1 << 20 { try sink.write(columns: keep.map { cols[$0] }, out); out.removeAll(keepingCapacity: true) }
            }
            if !out.isEmpty { try sink.write(columns: keep.map { cols[$0] }, out) }
        }
        return rows
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

    /// Streams the base copy into the sink, leaving out rows the fold replaces and filling the
    /// fold's unchanged-TOAST values from the rows it passes. Allocates nothing per untouched row.
    static func loadBase(_ base: (path: String, header: BaseHeader), fold: TableFold, target: TableDefinition, into sink: RowSink,
                         label: String) throws -> (read: Int, kept: Int) {
        if fold.truncated { return (0, 0) }
        let reader = try BaseCopyReader(path: base.path)
        let baseCols = base.header.definition.columns.map(\.name)
        let targetCols = Set(target.columns.map(\.name))
        let keepIdx = baseCols.indices.filter { targetCols.contains(baseCols[$0]) }
        let outCols = keepIdx.map { baseCols[$0] }
        let project = keepIdx.count != baseCols.count
        let fills = fold.pendingFills()
        let untouched = (fold.keyed ? fold.state.isEmpty : fold.multiset.isEmpty) && fills.isEmpty
        let keyPositions = fold.keyColumns.compactMap { baseCols.firstIndex(of: $0) }
        var read = 0, kept = 0
        let progress = TerminalProgress(label: "replay \(label)")
        var bytes = 0
        var out: [UInt8] = []
        out.reserveCapacity(1 << 21)
        while let chunk = try reader.nextChunk() {
            bytes += chunk.count
            if untouched && !project {
                let n = chunk.reduce(0) { $0 + ($1 == CopyText.newline ? 1 : 0) }
                read += n; kept += n
                try sink.write(columns: baseCols, chunk)
                progress.update(rows: read, bytes: bytes)
                continue
            }
            var start = 0
            // Runs of kept lines are copied in one piece.
            var runStart = 0
            func flushRun(_ upTo: Int) {
                if !project && upTo > runStart { out.append(contentsOf: chunk[runStart..<upTo]) }
            }
            var i = 0
            let n = chunk.count
            while i < n {
                if chunk[i] != CopyText.newline { i += 1; continue }
                let line = chunk[start..<i]
                let next = i + 1
                read += 1
                var drop = false
                if fold.keyed {
                    let key = TableFold.key(ofLine: line, keyPositions: keyPositions)
                    if let waiting = fills[key] { fold.fillFromBaseRow(waiting: waiting, baseColumns: baseCols, baseLine: line) }
                    drop = fold.touches(baseKey: key)
                } else {
                    drop = fold.consumeBaseRow(line)
                }
                if drop {
                    flushRun(start)
                    runStart = next
                } else {
                    kept += 1
                    if project {
                        for (m, k) in keepIdx.enumerated() { if m > 0 { out.append(CopyText.tab) }; out += TableFold.field(line, k) }
                        out.append(CopyText.newline)
                    }
                }
                start = next
                i = next
            }
            flushRun(start)
            runStart = 0
            if out.count >= 1 << 20 { try sink.write(columns: outCols, out); out.removeAll(keepingCapacity: true) }
            progress.update(rows: read, bytes: bytes)
        }
        if !out.isEmpty { try sink.write(columns: outCols, out) }
        progress.finish(rows: read)
        return (read, kept)
    }
}

extension Replayer {
    /// `logbook schema`: the statements that recreate the table as it was at the point.
    public static func schemaStatements(archive path: String, table: String, point: ReplayPoint, logger: Logger) throws -> [String] {
        let archive = ArchiveDirectory(path)
        _ = try archive.requireIdentity()
        let parts = table.split(separator: ".", maxSplits: 1).map(String.init)
        let qualified = parts.count == 2 ? table : "public.\(table)"
        let plan = try ReplayPlanner(archive: archive, table: qualified).plan(point)
        let scan = try ChangeScan(archive: archive, table: qualified, plan: plan, logger: logger)
        try scan.run(fold: false)
        let def = scan.definition
        return SchemaSQL.createStatements(def, as: (def.schema, def.name))
    }
}

extension Replayer {
    /// The table's column names as of the point.
    public static func schemaColumns(archive path: String, table: String, point: ReplayPoint, logger: Logger) throws -> [String] {
        let archive = ArchiveDirectory(path)
        let plan = try ReplayPlanner(archive: archive, table: table).plan(point)
        let scan = try ChangeScan(archive: archive, table: table, plan: plan, logger: logger)
        try scan.run(fold: false)
        return scan.definition.columns.map(\.name)
    }
}
