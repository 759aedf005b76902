import Archive
import Foundation
import LibPQ
import Logging
import PGWire

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

    /// Creates the publication if missing and adds any listed table it lacks.
    static func ensurePublication(_ conn: PostgresConnection, name: String, tables: [TableName], logger: Logger) throws {
        let q = PostgresConnection.quoteIdent(name)
        let exists = try conn.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [name]).rows.count == 1
        // Partitions publish under their root (its name and shape), those attached later included.
        if !exists {
            try conn.query("CREATE PUBLICATION \(q) FOR TABLE \(tables.map(\.quoted).joined(separator: ", ")) WITH (publish_via_partition_root = true)")
            logger.info("created publication", metadata: ["publication": "\(name)"])
            return
        }
        if try conn.query("SELECT pubviaroot FROM pg_publication WHERE pubname = $1", [name]).scalar != "t" {
            try conn.query("ALTER PUBLICATION \(q) SET (publish_via_partition_root = true)")
            logger.info("publication now publishes partitions under their root", metadata: ["publication": "\(name)"])
        }
        let have = Set(try conn.query("SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1", [name]).rows.map {
            TableName(schema: $0[0] ?? "", name: $0[1] ?? "").description
        })
        for t in tables where !have.contains(t.description) {
            try conn.query("ALTER PUBLICATION \(q) ADD TABLE \(t.quoted)")
            logger.info("added table to publication", metadata: ["publication": "\(name)", "table": "\(t)"])
        }
    }

    struct SlotState { var exists: Bool; var lost: Bool; var confirmedFlush: LSN?; var plugin: String? }

    static func slotState(_ conn: PostgresConnection, slot: String) throws -> SlotState {
        let r = try conn.query("SELECT plugin, confirmed_flush_lsn, wal_status FROM pg_replication_slots WHERE slot_name = $1", [slot])
        guard let row = r.rows.first else { return SlotState(exists: false, lost: false) }
        return SlotState(exists: true, lost: row[2] == "lost", confirmedFlush: row[1].flatMap { LSN(string: $0) }, plugin: row[0])
    }

    /// Creates a logical slot with an exported snapshot. Returns the consistent point and the
    /// snapshot name, which stays valid until the next command on `repl`.
    static func createSlot(_ repl: PostgresConnection, name: String, temporary: Bool, serverVersion: Int) throws -> (LSN, String) {
        let q = PostgresConnection.quoteIdent(name)
        let sql = serverVersion >= 150000
            ? "CREATE_REPLICATION_SLOT \(q) \(temporary ? "TEMPORARY " : "")LOGICAL pgoutput (SNAPSHOT 'export')"
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
                               archive: ArchiveDirectory, logger: Logger, stop: StopSignal) throws {
        let conn = try Preflight.connect(source, replication: false)
        try conn.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try conn.query("SET TRANSACTION SNAPSHOT \(PostgresConnection.quoteLiteral(snapshot))")
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
            let copy = def.partitionKey != nil ? "COPY (SELECT \(cols) FROM \(t.quoted)) TO STDOUT" : "COPY \(t.quoted) (\(cols)) TO STDOUT"
            try conn.copyOut(copy) { chunk in
                if stop.isRequested { throw Stopped(table: t.description) }
                try writer.append(chunk)
                progress.update(rows: writer.rows, bytes: writer.rawBytes, total: estimate)
            }
            let path = try writer.finish()
            progress.finish(rows: writer.rows)
            logger.info("base copy written", metadata: ["table": "\(t)", "lsn": "\(lsn)", "rows": "\(writer.rows)",
                                                       "file": "\((path as NSString).lastPathComponent)"])
        }
        try conn.query("COMMIT")
    }

    static func recordGap(_ gap: ArchiveGap, archive: ArchiveDirectory) throws {
        try archive.writeJSONAtomically(archive.readGaps() + [gap], to: archive.gapsPath)
    }
}
