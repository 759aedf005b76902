import Archive
import LibPQ
import PGWire

/// `logbook mark NAME`: a named restore point in the stream, written with
/// `pg_logical_emit_message(true, 'logbook.mark', NAME)` so it commits in WAL order.
public enum MarkWriter {
    public static let prefix = ArchiveMark.messagePrefix

    public static func write(name: String, source: String) throws -> LSN {
        let conn: PostgresConnection
        do { conn = try PostgresConnection(conninfo: source, applicationName: "logbook-mark") } catch let e as PostgresError {
            throw ReplayError(.target, "cannot connect to the source: \(e.message)", fix: "check --source")
        }
        let r = try conn.query("SELECT pg_logical_emit_message(true, $1, $2)::text", [prefix, name])
        guard let s = r.scalar, let lsn = LSN(string: s) else { throw ReplayError(.target, "the server returned no LSN for the mark") }
        return lsn
    }
}
