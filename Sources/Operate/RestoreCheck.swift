import Archive
import Capture
import Crypto
import Foundation
import LibPQ
import Logging
import PGWire
import Replay

/// `logbook verify --archive DIR --against CONNINFO`: the monthly restore test as one command.
/// Each table is rebuilt from the archive and compared with the live table — row count and the
/// SHA-256 of the sorted COPY text — both taken at one consistent point: the snapshot exported by a
/// temporary slot, whose consistent point the archive must have reached.
public enum RestoreCheck {
    public struct Line: Sendable {
        public var table: String
        public var pass: Bool
        public var archivedRows: Int
        public var liveRows: Int
        public var seconds: Double
        public var detail: String

        public var description: String {
            "\(pass ? "PASS" : "FAIL") \(table): \(archivedRows) rows rebuilt, \(liveRows) live, \(String(format: "%.1f", seconds)) s\(detail.isEmpty ? "" : " — " + detail)"
        }
    }

    public static func run(archive path: String, key: ArchiveKey? = nil, against conninfo: String, tables requested: [String], waitSeconds: Double = 60,
                           logger: Logger) throws -> [Line] {
        let archive = ArchiveDirectory(path, key: key)
        let id = try archive.requireIdentity()
        let conn: PostgresConnection
        let repl: PostgresConnection
        do {
            conn = try PostgresConnection(conninfo: conninfo, applicationName: "logbook-verify")
            repl = try PostgresConnection(conninfo: conninfo, replication: true, applicationName: "logbook-verify")
        } catch let e as PostgresError {
            throw ReplayError(.target, "cannot connect to --against: \(e.message)", fix: "check the connection string")
        }
        let sys = try conn.query("SELECT system_identifier::text FROM pg_control_system()").scalar ?? ""
        guard sys == id.systemIdentifier, conn.databaseName == id.database else {
            throw ReplayError(.target, "--against is not the archived database (cluster \(sys), database \(conn.databaseName))",
                              fix: "point --against at database \(id.database) of cluster \(id.systemIdentifier)")
        }
        let tables = requested.isEmpty ? Array(Set(try BaseCopyReader.headers(in: archive).map(\.header.table))).sorted() : requested
        // The consistent point and its snapshot.
        let slotName = "logbook_verify_\(getpid())"
        let create = repl.serverVersionNum >= 150000
            ? "CREATE_REPLICATION_SLOT \(slotName) TEMPORARY LOGICAL pgoutput (SNAPSHOT 'export')"
            : "CREATE_REPLICATION_SLOT \(slotName) TEMPORARY LOGICAL pgoutput EXPORT_SNAPSHOT"
        let slot = try repl.query(create)
        guard let point = slot.value(0, "consistent_point").flatMap({ LSN(string: $0) }), let snapshot = slot.value(0, "snapshot_name") else {
            throw ReplayError(.target, "the server returned no snapshot for the restore test")
        }
        try conn.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try conn.query("SET TRANSACTION SNAPSHOT \(PostgresConnection.quoteLiteral(snapshot))")
        // The archive must hold everything before the point.
        let deadline = Date().addingTimeInterval(waitSeconds)
        let side = try PostgresConnection(conninfo: conninfo, applicationName: "logbook-verify")
        while true {
            let confirmed = try side.query("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1", [id.slot]).scalar
                .flatMap { LSN(string: $0) }
            if let confirmed, confirmed >= point { break }
            if Date() > deadline {
                throw ReplayError(.outOfRange, "the archive has not reached the source's current position \(point) (slot \(id.slot) confirmed \(confirmed?.description ?? "nothing"))",
                                  fix: "run the restore test while `logbook run` is streaming")
            }
            usleep(100_000)
        }
        var lines: [Line] = []
        for table in tables {
            let start = Date()
            var rebuilt: [[UInt8]] = []
            var columns: [String] = []
            do {
                let scratch = NSTemporaryDirectory() + "logbook-verify-\(UUID().uuidString)"
                defer { try? FileManager.default.removeItem(atPath: scratch) }
                var pending: [UInt8] = []
                var request = ReplayRequest(archive: path, table: table, point: .committedBefore(point), destination: .file(path: scratch, format: "copy"))
                request.encryptionKey = key
                let replayer = try Replayer(request, logger: logger)
                _ = try replayer.run()
                pending = try FileIO.readFile(scratch)
                rebuilt = splitLines(pending)
                columns = try Replayer.schemaColumns(archive: path, key: key, table: table, point: .committedBefore(point), logger: logger)
            } catch {
                lines.append(Line(table: table, pass: false, archivedRows: 0, liveRows: 0, seconds: Date().timeIntervalSince(start), detail: "\(error)"))
                continue
            }
            var live: [UInt8] = []
            let quotedTable = try QualifiedName(parsing: table).quoted
            try conn.copyOut("COPY (SELECT \(columns.map(PostgresConnection.quoteIdent).joined(separator: ", ")) FROM \(quotedTable)) TO STDOUT") {
                live.append(contentsOf: $0)
            }
            let liveLines = splitLines(live)
            let a = digest(rebuilt), b = digest(liveLines)
            // The definition a restore at the point would create, against the live catalog's (in the snapshot).
            var defects: [String] = []
            let name = try QualifiedName(parsing: table)
            if let liveDef = try Catalog.definition(of: TableName(schema: name.schema, name: name.name), on: conn) {
                let archivedDef = try Replayer.schemaDefinition(archive: path, key: key, table: table, point: .committedBefore(point), logger: logger)
                defects = DefinitionDiff.differences(archived: archivedDef, live: liveDef)
            }
            let rowsPass = a == b && rebuilt.count == liveLines.count
            let pass = rowsPass && defects.isEmpty
            lines.append(Line(table: table, pass: pass, archivedRows: rebuilt.count, liveRows: liveLines.count,
                              seconds: Date().timeIntervalSince(start),
                              detail: (rowsPass ? "sha256 \(a.prefix(16))… at \(point)" : "sha256 \(a.prefix(16))… vs live \(b.prefix(16))… at \(point)")
                                + defects.map { "; \($0)" }.joined()))
        }
        try conn.query("COMMIT")
        return lines
    }

    static func splitLines(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast(bytes.last == 0x0A ? 1 : 0).map(Array.init)
    }

    /// SHA-256 over the rows sorted bytewise, one LF after each.
    static func digest(_ rows: [[UInt8]]) -> String {
        var h = SHA256()
        for r in rows.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            h.update(data: r)
            h.update(data: [0x0A])
        }
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
