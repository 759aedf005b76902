import Archive
import Foundation
import LibPQ
import PGWire

/// `logbook status`: what the archive holds, and with a source, how far the slot lags.
public struct ArchiveStatus: Codable, Sendable {
    public struct Base: Codable, Sendable {
        public var table: String; public var lsn: String; public var reason: String; public var bytes: Int
        /// The snapshot's time on the source, µs since 2000-01-01.
        public var snapshotMicros: Int64?
    }
    /// One segment's span of commit times (µs since 2000-01-01), for the timeline.
    public struct Span: Codable, Sendable { public var first: Int64; public var last: Int64; public var sealed: Bool; public var uploaded: Bool? }
    public struct Mark: Codable, Sendable {
        public var name: String; public var lsn: String; public var micros: Int64?
        /// Commit time of the mark's transaction, as `--at` takes it.
        public var time: String?
        init(name: String, lsn: String, micros: Int64?) {
            self.name = name; self.lsn = lsn; self.micros = micros
            time = micros.map { PGTimestamp(rawValue: $0).description }
        }
    }
    public struct Gap: Codable, Sendable { public var fromLSN: String; public var toLSN: String; public var fromMicros: Int64?; public var reason: String }
    public struct Slot: Codable, Sendable {
        public var name: String
        public var exists: Bool
        public var active: Bool
        public var confirmedFlushLSN: String?
        public var walStatus: String?
        public var lagBytes: Int64?
        public var lagSeconds: Double?
        /// PostgreSQL 17+: a failover slot, and whether a standby in --source holds it synchronized
        /// (nil: no standby reached).
        public var failover: Bool?
        public var synchronizedOnStandby: Bool?
    }
    public var archive: String
    public var systemIdentifier: String
    public var database: String
    public var slotName: String
    public var sealedSegments: Int
    public var openSegments: Int
    public var segmentBytes: Int
    public var firstLSN: String?
    public var lastEndLSN: String?
    public var firstCommitTime: String?
    public var lastCommitTime: String?
    /// The same, as µs since 2000-01-01, for thresholds.
    public var lastCommitMicros: Int64?
    /// The archive's watermark: every commit below this LSN, and at or before this time, is archived.
    public var watermarkLSN: String?
    public var watermarkTime: String?
    /// Where the restorable window ends (the later of the last commit and the watermark).
    public var restorableUntilLSN: String?
    public var restorableUntil: String?
    public var restorableUntilMicros: Int64?
    /// Breaks in the chain of segments (replay refuses to cross them).
    public var chainProblems: [String] = []
    public var transactions: Int
    public var changes: Int
    public var baseCopies: [Base]
    public var slot: Slot?
    /// Kafka fan-out: the end LSN of the last acknowledged transaction, and how far it trails the archive.
    public var kafkaPosition: String?
    public var kafkaLagBytes: Int64?
    public var kafkaMessages: Int?
    /// Off-site copies (`logbook run --s3-url`): where, and how many sealed files the store confirmed.
    public var uploadLocation: String?
    public var uploadedFiles: Int?
    public var segments: [Span] = []
    public var marks: [Mark] = []
    public var gaps: [Gap] = []

    public static func read(archive path: String, key: ArchiveKey? = nil, source: String? = nil) throws -> ArchiveStatus {
        let archive = ArchiveDirectory(path, key: key)
        let id = try archive.requireIdentity()
        let sealed = try archive.sealedSegments()
        let open = try archive.openSegments()
        var bytes = 0
        for p in sealed + open { bytes += (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0 }
        var firstLSN: LSN?, firstTime: PGTimestamp?, last: CommitPosition?
        var txns = 0, changes = 0
        var spans: [Span] = [], marks: [Mark] = []
        let zstd = Zstd()
        let ledger = UploadLedger.read(archive)
        for p in sealed {
            let f = try SegmentScanner.footer(of: p, key: archive.key, zstd: zstd)
            let uploaded = ledger.map { $0.objects["segments/" + (p as NSString).lastPathComponent] != nil }
            if let a = f.firstCommitTime, let b = f.last?.commitTime { spans.append(Span(first: a.rawValue, last: b.rawValue, sealed: true, uploaded: uploaded)) }
            for m in f.marks ?? [] { marks.append(Mark(name: m.name, lsn: m.lsn.description, micros: m.commitTime?.rawValue)) }
            if firstLSN == nil { firstLSN = f.firstLSN }
            if firstTime == nil { firstTime = f.firstCommitTime }
            if let l = f.last { last = l }
            txns += f.transactions
            changes += f.changes
        }
        // The open segment: scan its committed transactions.
        for p in open {
            let cursor = ArchiveCursor(paths: [p], key: archive.key)
            var openFirst: PGTimestamp?, openLast: PGTimestamp?
            var pendingMarks: [ArchiveMark] = []
            defer { if let a = openFirst, let b = openLast { spans.append(Span(first: a.rawValue, last: b.rawValue, sealed: false)) } }
            while let ev = try cursor.next() {
                switch ev {
                case .change(.message(let m), _) where m.prefix == ArchiveMark.messagePrefix:
                    pendingMarks.append(ArchiveMark(name: String(decoding: m.content, as: UTF8.self), lsn: m.lsn, commitTime: nil))
                    changes += 1
                case .commit(let c):
                    if openFirst == nil { openFirst = c.commitTime }
                    openLast = c.commitTime
                    for m in pendingMarks { marks.append(Mark(name: m.name, lsn: m.lsn.description, micros: c.commitTime.rawValue)) }
                    pendingMarks.removeAll()
                    if firstLSN == nil { firstLSN = c.commitLSN }
                    if firstTime == nil { firstTime = c.commitTime }
                    last = CommitPosition(commitLSN: c.commitLSN, endLSN: c.endLSN, commitTime: c.commitTime)
                    txns += 1
                case .message(let m) where m.prefix == ArchiveMark.messagePrefix:
                    marks.append(Mark(name: String(decoding: m.content, as: UTF8.self), lsn: m.lsn.description, micros: nil))
                case .change: changes += 1
                default: break
                }
            }
        }
        let bases = try BaseCopyReader.headers(in: archive).map { p, h in
            Base(table: h.table, lsn: h.lsn.description, reason: h.reason,
                 bytes: (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0,
                 snapshotMicros: h.snapshotTime.rawValue)
        }
        var status = ArchiveStatus(archive: path, systemIdentifier: id.systemIdentifier, database: id.database, slotName: id.slot,
                                   sealedSegments: sealed.count, openSegments: open.count, segmentBytes: bytes,
                                   firstLSN: firstLSN?.description, lastEndLSN: last?.endLSN.description,
                                   firstCommitTime: firstTime?.description, lastCommitTime: last?.commitTime.description,
                                   lastCommitMicros: last?.commitTime.rawValue,
                                   transactions: txns, changes: changes, baseCopies: bases, slot: nil)
        let view = try ArchiveView.take(archive, allowGaps: true)
        let end = view.end
        status.chainProblems = view.problems
        status.watermarkLSN = end.watermark?.lsn.description
        status.watermarkTime = end.watermark?.time.description
        status.restorableUntilLSN = end.lsn?.description
        status.restorableUntil = end.time?.description
        status.restorableUntilMicros = end.time?.rawValue
        status.segments = spans
        status.uploadLocation = ledger?.location
        status.uploadedFiles = ledger?.objects.count
        status.marks = marks
        status.gaps = view.gaps.map { Gap(fromLSN: $0.fromLSN.description, toLSN: $0.toLSN.description,
                                                   fromMicros: $0.fromTime?.rawValue, reason: $0.reason) }
        if let p = PublishPosition.read(archive) {
            status.kafkaPosition = p.lsn.description
            status.kafkaMessages = p.messages
            if let last { status.kafkaLagBytes = Int64(last.endLSN.rawValue) - Int64(min(p.lsn.rawValue, last.endLSN.rawValue)) }
        }
        if let source {
            let conn = try PostgresConnection(conninfo: source, applicationName: "logbook-status")
            let r = try conn.query("""
                SELECT s.active, s.confirmed_flush_lsn, s.wal_status,
                       pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint,
                       EXTRACT(EPOCH FROM r.flush_lag)::float8
                FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
                WHERE s.slot_name = $1
                """, [id.slot])
            if let row = r.rows.first {
                status.slot = Slot(name: id.slot, exists: true, active: row[0] == "t", confirmedFlushLSN: row[1], walStatus: row[2],
                                   lagBytes: row[3].flatMap { Int64($0) }, lagSeconds: row[4].flatMap { Double($0) } ?? 0)
            } else {
                status.slot = Slot(name: id.slot, exists: false, active: false)
            }
            if conn.serverVersionNum >= 170000, status.slot?.exists == true {
                status.slot?.failover = try conn.query("SELECT failover FROM pg_replication_slots WHERE slot_name = $1", [id.slot]).scalar == "t"
                let standbyInfo = ConnectionString.targeting(source, "standby")
                if status.slot?.failover == true, let standby = try? PostgresConnection(conninfo: standbyInfo, applicationName: "logbook-status") {
                    let r = try standby.query("SELECT synced AND NOT temporary AND invalidation_reason IS NULL FROM pg_replication_slots WHERE slot_name = $1", [id.slot])
                    status.slot?.synchronizedOnStandby = r.scalar == "t"
                }
            }
        }
        return status
    }

    public func render() -> String {
        var out = "archive \(archive): cluster \(systemIdentifier), database \(database), slot \(slotName)\n"
        out += "segments: \(sealedSegments) sealed, \(openSegments) open, \(segmentBytes) bytes; \(transactions) transactions, \(changes) changes\n"
        out += "archived: LSN \(firstLSN ?? "-") .. \(lastEndLSN ?? "-"), commits \(firstCommitTime ?? "-") .. \(lastCommitTime ?? "-")\n"
        out += "complete until: \(restorableUntil ?? "-") (LSN \(restorableUntilLSN ?? "-"))"
            + (watermarkTime.map { ", watermark \($0) at \(watermarkLSN ?? "-")" } ?? ", no watermark yet") + "\n"
        for p in chainProblems { out += "BROKEN CHAIN: \(p)\n" }
        for b in baseCopies { out += "base copy: \(b.table) at \(b.lsn) (\(b.reason)), \(b.bytes) bytes\n" }
        if let loc = uploadLocation {
            let up = segments.filter { $0.uploaded == true }.count
            out += "off-site: \(uploadedFiles ?? 0) files confirmed in \(loc); \(up) of \(sealedSegments) sealed segments held locally are uploaded\n"
        }
        if let k = kafkaPosition {
            out += "kafka: published through \(k) (\(kafkaMessages ?? 0) messages), \(kafkaLagBytes ?? 0) bytes of WAL behind the archive\n"
        }
        if let s = slot {
            if s.exists {
                out += "slot \(s.name): \(s.active ? "active" : "inactive"), confirmed \(s.confirmedFlushLSN ?? "-"), wal_status \(s.walStatus ?? "-"), lag \(s.lagBytes.map(String.init) ?? "-") bytes"
                if let secs = s.lagSeconds { out += ", \(String(format: "%.1f", secs)) s" }
                if let f = s.failover {
                    out += f ? ", failover slot" : ", not a failover slot (lost at a failover)"
                    if let synced = s.synchronizedOnStandby { out += synced ? ", synchronized on the standby" : ", NOT synchronized on the standby yet" }
                }
                out += "\n"
            } else {
                out += "slot \(s.name): MISSING on the source\n"
            }
        }
        return out
    }

    /// One line per breached threshold (empty when healthy): the seed's "alert if no backup in 48
    /// hours", made precise. `maxAge`: the end of the restorable window (the watermark, or the last
    /// commit) may be at most this old — a running archiver moves the watermark on a quiet database,
    /// one that stopped does not. `maxLag`: WAL bytes the slot may trail.
    public func breaches(maxAge: Double?, maxLag: Int64?, now: Date = Date()) -> [String] {
        var out: [String] = []
        if let s = slot {
            if !s.exists { out.append("slot \(s.name) does not exist on the source: nothing is being archived") }
            else if !s.active { out.append("slot \(s.name) is not active: logbook run is not streaming") }
        }
        if let maxAge {
            if let t = restorableUntilMicros.map({ PGTimestamp(rawValue: $0) }) {
                let age = now.timeIntervalSince(t.date)
                if age > maxAge {
                    out.append("max-age: the archive is restorable only until \(t) (watermark or last commit), \(Int(age)) s ago, more than \(Int(maxAge)) s: is logbook run streaming?")
                }
            } else {
                out.append("max-age: nothing archived yet")
            }
        }
        if let maxLag {
            if let lag = slot?.lagBytes {
                if lag > maxLag { out.append("max-lag: slot \(slotName) trails the source by \(lag) bytes of WAL, more than \(maxLag)") }
            } else {
                out.append("max-lag: no lag known (give --source)")
            }
        }
        return out
    }

    var lastCommitTimeValue: PGTimestamp? { lastCommitMicros.map { PGTimestamp(rawValue: $0) } }
}
