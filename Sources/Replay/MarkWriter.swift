import Foundation
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

    /// Waits until the archive holds the mark written at `lsn` (polling its durable end every 100 ms),
    /// at most `seconds`.
    public static func waitUntilArchived(name: String, lsn: LSN, archive path: String, key: ArchiveKey? = nil, seconds: Double) throws {
        let dir = ArchiveDirectory(path, key: key)
        let deadline = Date().addingTimeInterval(seconds)
        while (try SegmentScanner.lastCommitIncludingOpen(in: dir)?.commitLSN ?? .zero) < lsn {
            guard Date() < deadline else {
                throw ReplayError(.outOfRange, "mark '\(name)' was written at \(lsn) but is not in \(path) after \(Int(seconds)) s",
                                  fix: "check that logbook run is streaming (logbook status --source …); the mark will be archived once it is")
            }
            usleep(100_000)
        }
    }
}
