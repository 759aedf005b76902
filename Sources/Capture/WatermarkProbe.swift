import Archive
import Foundation
import LibPQ
import Logging
import PGWire

/// Finds out how far the archive is complete on a quiet database, where no commit says so.
///
/// A keepalive's WAL end says which commits have been sent (all below it), but its send time says
/// nothing about which commits exist: a walsender working through a backlog sends an old position
/// with a new time. So the time comes from the server itself: `clock_timestamp()` then
/// `pg_current_wal_insert_lsn()` on an ordinary connection. Every commit the server timestamped
/// before that moment has its record below that position; once the stream has passed it (a
/// keepalive's WAL end at or beyond it, nothing pending) the archive holds every such commit,
/// and the watermark is that WAL end and that time, less `margin` (a commit takes its timestamp
/// a moment before it inserts its record).
final class WatermarkProbe {
    struct Reading { var position: LSN; var time: PGTimestamp }

    let source: String
    let interval: Double
    let margin: Int64
    let logger: Logger
    private var conn: PostgresConnection?
    private var segmentSize: UInt64 = 16 << 20
    private var pageSize: UInt64 = 8192
    private(set) var pending: Reading?
    private var lastProbe = Date.distantPast
    private var failedOnce = false
    /// The source cannot be asked (a standby, no permission): watermarks carry a position only.
    private(set) var unavailable = false

    init(source: String, interval: Double, marginMicros: Int64 = 1_000_000, logger: Logger) {
        self.source = source
        self.interval = interval
        self.margin = marginMicros
        self.logger = logger
    }

    /// Takes a reading if none is pending and `interval` has passed. Failures (a standby, a
    /// dropped connection) only mean no watermark this time.
    func probeIfDue(now: Date = Date()) {
        guard pending == nil, now.timeIntervalSince(lastProbe) >= interval else { return }
        lastProbe = now
        do {
            if conn == nil {
                let c = try PostgresConnection(conninfo: source, replication: false, applicationName: "logbook-watermark")
                for row in try c.query("SELECT name, setting FROM pg_settings WHERE name IN ('wal_segment_size', 'wal_block_size')").rows {
                    guard let v = row[1].flatMap({ UInt64($0) }), v > 0 else { continue }
                    if row[0] == "wal_segment_size" { segmentSize = v } else { pageSize = v }
                }
                conn = c
            }
            let r = try conn!.query("SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint, pg_current_wal_insert_lsn()")
            guard let row = r.rows.first, row.count == 2, let micros = row[0].flatMap({ Int64($0) }),
                  let lsn = row[1].flatMap({ LSN(string: $0) }) else { return }
            unavailable = false
            pending = Reading(position: Self.recordEnd(lsn, segmentSize: segmentSize, pageSize: pageSize),
                              time: PGTimestamp(rawValue: micros - PGTimestamp.epochOffsetSeconds * 1_000_000 - margin))
        } catch {
            conn = nil
            unavailable = true
            if !failedOnce {
                failedOnce = true
                logger.warning("cannot read the source's WAL position for the archive's watermark; quiet stretches after the last commit are not restorable until it can",
                               metadata: ["error": "\(error)"])
            }
        }
    }

    /// The watermark the stream has earned: `keepaliveEnd` has passed the pending reading.
    func take(keepaliveEnd: LSN) -> Watermark? {
        guard let p = pending, keepaliveEnd >= p.position else { return nil }
        pending = nil
        return Watermark(lsn: keepaliveEnd, time: p.time)
    }

    /// `pg_current_wal_insert_lsn()` points past a page header when the last record ended at a
    /// page boundary; the walsender's position is the record's end, before that header.
    static func recordEnd(_ lsn: LSN, segmentSize: UInt64, pageSize: UInt64 = 8192) -> LSN {
        let v = lsn.rawValue
        if v % segmentSize == 40 { return LSN(rawValue: v - 40) }   // long page header, first page of a segment
        if v % pageSize == 24 { return LSN(rawValue: v - 24) }      // short page header
        return lsn
    }

    func close() { conn = nil }
}
