import Archive
import Foundation
import PGWire

/// Everything `logbook run` is told.
public struct CaptureOptions: Sendable {
    public var source: String
    public var archive: String
    /// `schema.table` names.
    public var tables: [String]
    public var slot = "logbook"
    public var publication = "logbook"
    /// Exit once everything up to this LSN is archived.
    public var endpos: LSN?
    /// How often buffered changes are fsynced and confirmed to the server.
    public var flushInterval: Double = 1.0
    /// How often, while nothing is pending, the archive's watermark is moved forward (seconds).
    public var watermarkInterval: Double = 2.0
    /// Flush sooner once this many bytes are buffered.
    public var flushBytes = 8 << 20
    public var segment = SegmentWriter.Options()
    /// Take a new base copy of every table (after a lost slot), recording the gap.
    public var resnapshot = false
    /// Create the slot as a failover slot (PostgreSQL 17+), or make the existing one one, after
    /// checking that the primary and its standby are set up to synchronize it (`--failover-slot`).
    public var failoverSlot = false
    /// With a standby as `source`: the primary, for what a standby cannot do (create the
    /// publication, read the WAL position watermarks need). Nil: not needed, or the source is the primary.
    public var primary: String?
    /// Ask for `streaming` of large in-progress transactions (PG14+).
    public var streaming = true
    /// Reconnect after a lost connection, with backoff, up to this many attempts in a row.
    public var maxReconnectAttempts = 30
    /// Called on the capture thread after a segment is sealed (e.g. to schedule a compaction);
    /// it must return at once.
    public var onSegmentSealed: (@Sendable () -> Void)?
    /// Updated after every fsync with the last durable commit LSN.
    public var durableMark: DurableMark?
    /// Streaming and durability state for `/healthz`.
    public var health: CaptureHealth?
    /// Connections that read one large table's base copy at once (ranges of its pages, one
    /// snapshot), each compressing its own share.
    public var baseCopyLanes = min(4, max(1, ProcessInfo.processInfo.activeProcessorCount))
    /// Pages of a table per lane at least (64 MiB of 8 kB pages): smaller tables are read by one connection.
    public var baseCopyPagesPerLane = 8192
    /// The archive's encryption key (`--encryption-key-file`); nil writes a clear archive.
    public var encryptionKey: ArchiveKey?

    public init(source: String, archive: String, tables: [String]) {
        self.source = source
        self.archive = archive
        self.tables = tables
    }
}

/// A table name as given on the command line (`schema.table`, quoted parts keep their case).
public struct TableName: Hashable, Sendable, CustomStringConvertible {
    public var schema: String
    public var name: String
    public init(schema: String, name: String) { self.schema = schema; self.name = name }

    public init(parsing s: String) throws {
        do {
            let q = try QualifiedName(parsing: s)
            schema = q.schema; name = q.name
        } catch let e as QualifiedName.ParseError {
            throw CaptureError(.invalidOption, e.description,
                               fix: "write tables as schema.table, comma-separated; quote a part that has capitals, spaces or dots: '\"Fleet Ops\".\"Driver Notes\"'")
        }
    }

    /// Quoted where needed, as the archive keys the table.
    public var description: String { QualifiedName(schema: schema, name: name).description }
    /// `"schema"."table"` for SQL.
    public var quoted: String { QualifiedName(schema: schema, name: name).quoted }
}
