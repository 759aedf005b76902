import Archive
import Foundation
import LibPQ
import PGWire
import Logging

/// The seed's `backup_log` table, kept by Logbook (`--log-table`): one row per sealed segment and
/// base copy (`backup_type` `segment` / `base_copy`, with its size and SHA-256), its `s3_location`
/// once the object store confirmed it, and the restore test's result on every row it covered
/// (`tested`, `test_date`, `test_result`), plus one `verification` row per `logbook verify`.
public final class BackupLog {
    let conn: PostgresConnection
    let table: String
    let qualified: String

    /// Connects and creates the table (with the seed's columns) if it is missing.
    public init(conninfo: String, table: String) throws {
        let name = try QualifiedName(parsing: table)
        self.table = name.description
        qualified = name.quoted
        do {
            conn = try PostgresConnection(conninfo: conninfo, applicationName: "logbook-backup-log")
            try conn.query("""
                CREATE TABLE IF NOT EXISTS \(qualified) (
                  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                  backup_date date NOT NULL,
                  backup_type text NOT NULL,
                  file_path text NOT NULL,
                  file_size_bytes bigint,
                  sha256_checksum text,
                  s3_location text,
                  tested boolean DEFAULT false,
                  test_date date,
                  test_result text,
                  created_at timestamptz DEFAULT now()
                )
                """)
        } catch let e as PostgresError {
            throw ArchiveError(.io, "cannot use the backup log table \(table): \(e.message)",
                               fix: "check --log-target (or --source) and that the role may create or insert into \(table)")
        }
    }

    /// Records a file once (by type and path).
    public func recordFile(type: String, path: String, size: Int, sha256: String?, date: Date = Date()) throws {
        try conn.query("""
            INSERT INTO \(qualified) (backup_date, backup_type, file_path, file_size_bytes, sha256_checksum)
            SELECT $1::date, $2, $3, $4::bigint, $5
            WHERE NOT EXISTS (SELECT 1 FROM \(qualified) WHERE backup_type = $2 AND file_path = $3)
            """, [Self.day(date), type, path, String(size), sha256])
    }

    public func recordUpload(path: String, s3Location: String) throws {
        try conn.query("UPDATE \(qualified) SET s3_location = $2 WHERE file_path = $1 AND s3_location IS DISTINCT FROM $2", [path, s3Location])
    }

    /// A verification: its own row; a passed restore test (`--against`) also sets `tested` on every
    /// file row of the archive it covered.
    public func recordVerification(archive: String, passed: Bool, restoreTested: Bool, result: String, date: Date = Date()) throws {
        try conn.query("""
            INSERT INTO \(qualified) (backup_date, backup_type, file_path, tested, test_date, test_result)
            VALUES ($1::date, 'verification', $2, $4::boolean, $1::date, $3)
            """, [Self.day(date), archive, result, restoreTested ? "true" : "false"])
        if passed && restoreTested {
            try conn.query("""
                UPDATE \(qualified) SET tested = true, test_date = $2::date, test_result = $3
                WHERE backup_type IN ('segment', 'base_copy') AND starts_with(file_path, $1)
                """, [archive + "/", Self.day(date), result])
        }
    }

    /// Paths already recorded under `archive` (to resume without re-hashing).
    public func recordedPaths(under archive: String) throws -> (files: Set<String>, uploaded: Set<String>) {
        let r = try conn.query("SELECT file_path, s3_location IS NOT NULL FROM \(qualified) WHERE starts_with(file_path, $1)",
                               [archive + "/"])
        var files = Set<String>(), uploaded = Set<String>()
        for row in r.rows {
            guard let p = row[0] else { continue }
            files.insert(p)
            if row[1] == "t" { uploaded.insert(p) }
        }
        return (files, uploaded)
    }

    static func day(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        return f.string(from: d)
    }
}

/// Keeps `backup_log` up to date while `logbook run` works: a pass every few seconds records new
/// sealed files and confirmed uploads. A failing log database never touches the archive; the pass
/// is retried.
public final class BackupLogRecorder: @unchecked Sendable {
    let archive: ArchiveDirectory
    let conninfo: String
    let table: String
    let logger: Logger
    var log: BackupLog?
    var files = Set<String>()
    var uploaded = Set<String>()

    public init(archive: String, key: ArchiveKey? = nil, conninfo: String, table: String, logger: Logger) {
        self.archive = ArchiveDirectory(archive, key: key)
        self.conninfo = conninfo
        self.table = table
        self.logger = logger
    }

    /// One pass; returns how many rows it wrote or updated.
    @discardableResult
    public func sync() throws -> Int {
        if log == nil {
            let l = try BackupLog(conninfo: conninfo, table: table)
            (files, uploaded) = try l.recordedPaths(under: archive.root)
            log = l
        }
        guard let log else { return 0 }
        var n = 0
        for (type, paths) in [("base_copy", try archive.baseFiles()), ("segment", try archive.sealedSegments())] {
            for path in paths where !files.contains(path) {
                let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
                try log.recordFile(type: type, path: path, size: size, sha256: try fileSHA256(path, length: size))
                files.insert(path)
                n += 1
            }
        }
        if let ledger = UploadLedger.read(archive) {
            for relative in ledger.objects.keys.sorted() {
                let path = archive.root + "/" + relative
                guard files.contains(path), !uploaded.contains(path) else { continue }
                try log.recordUpload(path: path, s3Location: ledger.location + "/" + relative)
                uploaded.insert(path)
                n += 1
            }
        }
        return n
    }

    /// `pause(seconds)` waits between passes, returning early when there is news (see `Uploader.run`).
    public func run(shouldStop: @Sendable () -> Bool, pause: (Double) -> Void) {
        var failures = 0
        while true {
            let stopping = shouldStop()
            do {
                try sync()
                failures = 0
            } catch {
                failures += 1
                log = nil
                logger.warning("backup_log not updated, retrying", metadata: ["table": "\(table)", "attempt": "\(failures)", "error": "\(error)"])
            }
            if stopping { return }
            let end = Date().addingTimeInterval(failures == 0 ? 2 : min(60, pow(2, Double(failures))))
            while !shouldStop(), case let left = end.timeIntervalSinceNow, left > 0 { pause(left) }
        }
    }
}
