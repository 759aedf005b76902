import Archive
import Foundation
import LibPQ
import Logging
import PGWire
import Synchronization

/// What the server said about itself on the replication connection.
struct SystemInfo {
    var systemIdentifier: String
    var timeline: Int
    var walPosition: LSN
    var database: String
}

enum Setup {
    static func identifySystem(_ repl: PostgresConnection) throws -> SystemInfo {
        let r = try repl.query("IDENTIFY_SYSTEM")
        guard let row = r.rows.first, row.count >= 4 else { throw CaptureError(.protocolError, "IDENTIFY_SYSTEM returned no row") }
        return SystemInfo(systemIdentifier: row[0] ?? "", timeline: Int(row[1] ?? "") ?? 0,
                          walPosition: LSN(string: row[2] ?? "") ?? .zero, database: row[3] ?? "")
    }

    /// What a publication Logbook created says of itself (`COMMENT ON PUBLICATION`).
    static let publicationNote = "created by logbook run: tables are added to it as --tables grows"

    /// Creates the publication if missing; one Logbook created gets any listed table it lacks. A
    /// publication of the operator's is never altered: where it lacks a table, or
    /// `publish_via_partition_root` while it covers a partitioned table, the exact statement to run is named.
    static func ensurePublication(_ conn: PostgresConnection, name: String, tables: [TableName], logger: Logger) throws {
        let q = PostgresConnection.quoteIdent(name)
        let row = try conn.query("""
            SELECT pubviaroot, obj_description(oid, 'pg_publication'), puballtables FROM pg_publication WHERE pubname = $1
            """, [name]).rows.first
        // Partitions publish under their root (its name and shape), those attached later included.
        guard let row else {
            try conn.query("CREATE PUBLICATION \(q) FOR TABLE \(tables.map(\.quoted).joined(separator: ", ")) WITH (publish_via_partition_root = true)")
            try conn.query("COMMENT ON PUBLICATION \(q) IS \(PostgresConnection.quoteLiteral(publicationNote))")
            logger.info("created publication", metadata: ["publication": "\(name)"])
            try checkFilters(conn, name: name, tables: tables)
            return
        }
        let ours = row[1] == publicationNote
        let have = Set(try conn.query("SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1", [name]).rows.map {
            TableName(schema: $0[0] ?? "", name: $0[1] ?? "").description
        })
        let partitioned = try tables.filter {
            try conn.query("SELECT c.relkind = 'p' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                           [$0.schema, $0.name]).scalar == "t"
        }
        // A partitioned table is listed under its root only when the publication publishes via the root.
        let missing = tables.filter { !have.contains($0.description) && !(row[2] == "t") }
        let needsRoot = row[0] != "t" && !partitioned.isEmpty
        if !ours {
            if needsRoot {
                throw CaptureError(.publicationNotOwned, "publication \(name), which logbook did not create, publishes the partitions of \(partitioned.map(\.description).joined(separator: ", ")) under their own names",
                                   fix: "run ALTER PUBLICATION \(q) SET (publish_via_partition_root = true); (as its owner), or give logbook a publication of its own (--publication)")
            }
            if !missing.isEmpty {
                throw CaptureError(.publicationNotOwned, "publication \(name), which logbook did not create, does not publish \(missing.map(\.description).joined(separator: ", "))",
                                   fix: "run ALTER PUBLICATION \(q) ADD TABLE \(missing.map(\.quoted).joined(separator: ", ")); (as its owner), or give logbook a publication of its own (--publication)")
            }
            try checkFilters(conn, name: name, tables: tables)
            logger.info("using the publication as it is", metadata: ["publication": "\(name)"])
            return
        }
        if needsRoot {
            try conn.query("ALTER PUBLICATION \(q) SET (publish_via_partition_root = true)")
            logger.info("publication now publishes partitions under their root", metadata: ["publication": "\(name)"])
        }
        for t in missing {
            try conn.query("ALTER PUBLICATION \(q) ADD TABLE \(t.quoted)")
            logger.info("added table to publication", metadata: ["publication": "\(name)", "table": "\(t)"])
        }
        try checkFilters(conn, name: name, tables: tables)
    }

    static func checkFilters(_ conn: PostgresConnection, name: String, tables: [TableName]) throws {
        for t in tables {
            guard let oid = try conn.query("""
                SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2
                """, [t.schema, t.name]).scalar.flatMap({ UInt32($0) }) else { continue }
            try Visibility.checkPublication(name, table: t, oid: oid, on: conn)
        }
    }

    struct SlotState { var exists: Bool; var lost: Bool; var confirmedFlush: LSN?; var plugin: String?; var failover = false }

    static func slotState(_ conn: PostgresConnection, slot: String) throws -> SlotState {
        let failover = conn.serverVersionNum >= Failover.minimumVersion ? "failover" : "false"
        let r = try conn.query("SELECT plugin, confirmed_flush_lsn, wal_status, \(failover) FROM pg_replication_slots WHERE slot_name = $1", [slot])
        guard let row = r.rows.first else { return SlotState(exists: false, lost: false) }
        return SlotState(exists: true, lost: row[2] == "lost", confirmedFlush: row[1].flatMap { LSN(string: $0) }, plugin: row[0],
                         failover: row[3] == "t")
    }

    /// Creates a logical slot with an exported snapshot. Returns the consistent point and the
    /// snapshot name, which stays valid until the next command on `repl`.
    static func createSlot(_ repl: PostgresConnection, name: String, temporary: Bool, serverVersion: Int, failover: Bool = false) throws -> (LSN, String) {
        let q = PostgresConnection.quoteIdent(name)
        let sql = serverVersion >= 150000
            ? "CREATE_REPLICATION_SLOT \(q) \(temporary ? "TEMPORARY " : "")LOGICAL pgoutput (SNAPSHOT 'export'\(failover ? ", FAILOVER true" : ""))"
            : "CREATE_REPLICATION_SLOT \(q) \(temporary ? "TEMPORARY " : "")LOGICAL pgoutput EXPORT_SNAPSHOT"
        let r = try repl.query(sql)
        guard let lsnText = r.value(0, "consistent_point"), let lsn = LSN(string: lsnText), let snap = r.value(0, "snapshot_name") else {
            throw CaptureError(.protocolError, "CREATE_REPLICATION_SLOT returned no consistent point or snapshot")
        }
        return (lsn, snap)
    }

    /// Copies each table inside the exported snapshot into a base-copy file valid at `lsn`.
    /// A stop was requested during a base copy: the partial file is removed at the next start,
    /// which takes the copy again (consistent with a snapshot of its own).
    struct Stopped: Error { var table: String }

    static func takeBaseCopies(source: String, snapshot: String, lsn: LSN, tables: [TableName], reason: String,
                               archive: ArchiveDirectory, lanes: Int = 1, pagesPerLane: Int = 8192, logger: Logger,
                               stop: StopSignal) throws -> [String: Int] {
        var used: [String: Int] = [:]
        let conn = try inSnapshot(source: source, snapshot)
        let nowMicros = Int64(try conn.query("SELECT (EXTRACT(EPOCH FROM now()) * 1000000)::bigint").scalar ?? "") ?? 0
        let snapshotTime = PGTimestamp(rawValue: nowMicros - PGTimestamp.epochOffsetSeconds * 1_000_000)
        for t in tables {
            guard let def = try Catalog.definition(of: t, on: conn) else {
                throw CaptureError(.tableMissing, "table \(t) does not exist on the source", fix: "create it, or remove it from --tables")
            }
            let header = BaseHeader(table: t.description, lsn: lsn, snapshot: snapshot, reason: reason,
                                    createdAt: ISO8601DateFormatter().string(from: Date()), snapshotTime: snapshotTime, definition: def)
            let writer = try BaseCopyWriter(archive: archive, header: header)
            let progress = TerminalProgress(label: "base copy \(t)")
            // Generated columns are computed by the server on load; a partitioned table is read through its root.
            let cols = def.storedColumns.map { PostgresConnection.quoteIdent($0.name) }.joined(separator: ", ")
            // The planner's row estimate, for the time left.
            let estimate = Int(Double(try conn.query("SELECT reltuples FROM pg_class WHERE oid = $1", [String(def.relationOID)]).scalar ?? "") ?? -1)
            // Several readers of the one snapshot, each a range of the table's pages (a TID range
            // scan, PostgreSQL 14+), for a table large enough to be worth it.
            let blocks = Int(try conn.query("SELECT pg_relation_size($1::oid::regclass) / current_setting('block_size')::int",
                                            [String(def.relationOID)]).scalar ?? "") ?? 0
            let n = def.partitionKey == nil && conn.serverVersionNum >= 140000 && blocks >= pagesPerLane * 2
                ? min(lanes, blocks / max(1, pagesPerLane)) : 1
            if n > 1 {
                try copyInLanes(t, columns: cols, blocks: blocks, lanes: n, first: conn, source: source, snapshot: snapshot, writer: writer,
                                stop: stop) { progress.update(rows: writer.rows, bytes: writer.rawBytes, total: estimate, prefix: "\(n) lanes, ") }
            } else {
                let copy = def.partitionKey != nil ? "COPY (SELECT \(cols) FROM \(t.quoted)) TO STDOUT" : "COPY \(t.quoted) (\(cols)) TO STDOUT"
                try conn.copyOut(copy) { chunk in
                    if stop.isRequested { throw Stopped(table: t.description) }
                    try writer.append(chunk)
                    progress.update(rows: writer.rows, bytes: writer.rawBytes, total: estimate)
                }
            }
            let path = try writer.finish()
            used[t.description] = n
            progress.finish(rows: writer.rows)
            logger.info("base copy written", metadata: ["table": "\(t)", "lsn": "\(lsn)", "rows": "\(writer.rows)", "lanes": "\(n)",
                                                       "file": "\((path as NSString).lastPathComponent)"])
        }
        try conn.query("COMMIT")
        return used
    }

    /// A new connection in a read-only transaction that sees exactly the exported `snapshot`.
    static func inSnapshot(source: String, _ snapshot: String) throws -> PostgresConnection {
        let conn = try Preflight.connect(source, replication: false)
        try conn.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try conn.query("SET TRANSACTION SNAPSHOT \(PostgresConnection.quoteLiteral(snapshot))")
        return conn
    }

    /// Reads `table` in `lanes` ranges of its pages at once: the first on `first` (already in the
    /// snapshot), the others on connections of their own that import the same snapshot. Each lane
    /// compresses its own frames; a failure or a stop in one ends them all.
    static func copyInLanes(_ table: TableName, columns: String, blocks: Int, lanes: Int, first: PostgresConnection, source: String,
                            snapshot: String, writer: BaseCopyWriter, stop: StopSignal, progress: () -> Void) throws {
        let per = (blocks + lanes - 1) / lanes
        let state = LaneState()
        let group = DispatchGroup()
        for lane in 1..<lanes {
            group.enter()
            let t = Thread {
                defer { group.leave() }
                do {
                    let conn = try inSnapshot(source: source, snapshot)
                    try copyRange(table, columns: columns, lane: lane, of: lanes, pagesEach: per, on: conn, writer: writer, stop: stop,
                                  state: state, progress: nil)
                    try conn.query("COMMIT")
                } catch {
                    state.fail(error, first: false)
                }
            }
            t.name = "logbook-base-copy-\(lane)"
            t.start()
        }
        do {
            try withoutActuallyEscaping(progress) { progress in
                try copyRange(table, columns: columns, lane: 0, of: lanes, pagesEach: per, on: first, writer: writer, stop: stop,
                              state: state, progress: progress)
            }
        } catch {
            state.fail(error, first: true)
        }
        group.wait()
        // The error that started it (not the lanes it cancelled); a stop before anything else.
        let errors = state.errors.filter { !($0 is CancellationError) }
        if let stopped = errors.first(where: { $0 is Stopped }) { throw stopped }
        if let first = errors.first { throw first }
    }

    /// One lane's range of pages, through its own `BaseCopyWriter.Lane`.
    static func copyRange(_ table: TableName, columns: String, lane: Int, of lanes: Int, pagesEach per: Int, on conn: PostgresConnection,
                          writer: BaseCopyWriter, stop: StopSignal, state: LaneState, progress: (() -> Void)?) throws {
        let from = lane * per
        // The last range is open-ended: nothing can be missed past the size read before.
        let range = lane == lanes - 1 ? "ctid >= '(\(from),0)'::tid" : "ctid >= '(\(from),0)'::tid AND ctid < '(\(from + per),0)'::tid"
        let out = writer.makeLane()
        try conn.copyOut("COPY (SELECT \(columns) FROM \(table.quoted) WHERE \(range)) TO STDOUT") { chunk in
            if stop.isRequested { throw Stopped(table: table.description) }
            if state.failed { throw CancellationError() }
            try out.append(chunk)
            progress?()
        }
        try out.finish()
    }

    /// Whether a lane failed, and the errors, shared by the lanes of one base copy.
    final class LaneState: Sendable {
        private let failure = Atomic<Bool>(false)
        private let list = Mutex<[any Error]>([])
        var failed: Bool { failure.load(ordering: .relaxed) }
        var errors: [any Error] { list.withLock { $0 } }
        func fail(_ e: any Error, first: Bool) {
            failure.store(true, ordering: .relaxed)
            list.withLock { first ? $0.insert(e, at: 0) : $0.append(e) }
        }
    }

    static func recordGap(_ gap: ArchiveGap, archive: ArchiveDirectory) throws {
        try archive.writeJSONAtomically(archive.readGaps() + [gap], to: archive.gapsPath)
    }
}
