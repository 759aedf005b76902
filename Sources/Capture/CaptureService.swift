import Archive
import Foundation
import LibPQ
import Logging
import PGWire

/// `logbook run`: reads pgoutput from a logical slot and archives every committed change,
/// confirming a position to the server only once the data behind it is fsynced.
///
/// `run()` blocks: it owns the libpq connections and the segment writer, and is meant to be
/// called on a dedicated thread (the CLI's main thread), never on the cooperative pool.
public final class CaptureService: @unchecked Sendable {
    let options: CaptureOptions
    let logger: Logger
    let stop: StopSignal
    let archive: ArchiveDirectory
    public private(set) var stats = CaptureStats()
    /// The writer of the session under way.
    private var currentWriter: SegmentWriter?
    /// Whether the session under way got as far as streaming.
    private var streamed = false
    let metrics = CaptureMetrics()

    public init(options: CaptureOptions, logger: Logger, stop: StopSignal = StopSignal()) {
        self.options = options
        self.logger = logger
        self.stop = stop
        self.archive = ArchiveDirectory(options.archive, key: options.encryptionKey)
    }

    /// Runs until `--endpos` is reached or a stop is requested. Throws `CaptureError` on a
    /// failure the user must fix; reconnects on its own after a lost connection.
    public func run() throws {
        defer { options.durableMark?.captureStopped() }
        let tables = try options.tables.map(TableName.init(parsing:))
        // One writer per archive, for the whole run.
        let lock = try ArchiveLock.acquire(archive, for: "run")
        defer { withExtendedLifetime(lock) {} }
        guard !tables.isEmpty else { throw CaptureError(.invalidOption, "no tables to archive", fix: "pass --tables schema.table[,...]") }
        var session: Session
        var setupAttempt = 0
        while true {
            do { session = try prepare(tables: tables); break } catch let s as Setup.Stopped {
                logger.notice("stopped during the base copy; the next start takes it again", metadata: ["table": "\(s.table)"])
                return
            } catch let e as PostgresError where Self.isTransient(e) {
                // Connected, then lost (a restart during the set-up): the set-up starts over; an
                // incomplete base copy is removed and the slot made so far is kept.
                setupAttempt += 1
                guard setupAttempt <= options.maxReconnectAttempts else { throw Self.lostSource(after: setupAttempt - 1, e, during: "the set-up") }
                let delay = Self.backoff(setupAttempt)
                logger.warning("lost the source during the set-up; starting it over", metadata: [
                    "attempt": "\(setupAttempt)", "in_seconds": "\(delay)", "error": "\(e.message)"])
                if sleepUnlessStopped(delay) { return }
            }
        }
        if stop.isRequested {
            // Asked to stop after the set-up, before streaming: nothing to flush; say so like any stop.
            logger.info("stopped", metadata: ["reason": "stop requested before streaming"])
            return
        }
        var attempt = 0
        while true {
            do {
                try stream(session)
                return
            } catch let e as PostgresError where e.code == .connection || e.code == .closed {
                // Close the open segment as it is; the next session's writer recovers it. The
                // replication connection is closed now, not at the next attempt: a server shutting
                // down waits for its walsender, which waits for this client to go.
                try? currentWriter?.abandon()
                currentWriter = nil
                session.replication = nil
                // Attempts count the failures in a row: a session that streamed starts the count over.
                if streamed { attempt = 0 }
                attempt += 1
                stats.reconnects += 1
                metrics.reconnects.increment()
                metrics.error("connection")
                metrics.streaming.record(0)
                options.health?.update { $0.streaming = false }
                guard attempt <= options.maxReconnectAttempts else { throw Self.lostSource(after: attempt - 1, e) }
                // Reconnect with backoff, one log line per attempt.
                while true {
                    let delay = Self.backoff(attempt)
                    logger.warning("replication connection lost, reconnecting", metadata: [
                        "attempt": "\(attempt)", "in_seconds": "\(delay)", "error": "\(e.message)"])
                    if sleepUnlessStopped(delay) { return }
                    do {
                        // Only once the server takes ordinary connections again (not shutting down or
                        // starting up): the session needs its catalog as much as its stream.
                        _ = try Preflight.connect(options.source, replication: false).query("SELECT 1")
                        let replication = try Preflight.connect(options.source, replication: true)
                        try noteFailover(&session, replication)
                        session.replication = replication
                        break
                    } catch let again where Self.isTransient(again) {
                        // Not yet reachable, or connected and lost again (a server still shutting down or starting up).
                        attempt += 1
                        guard attempt <= options.maxReconnectAttempts else { throw Self.lostSource(after: attempt - 1, again) }
                    }
                }
            }
            if stop.isRequested { return }
        }
    }

    /// After a reconnect: the same cluster (a multi-host --source may land on another server), and a
    /// timeline that moved means a standby was promoted.
    func noteFailover(_ session: inout Session, _ replication: PostgresConnection) throws {
        let sys = try Setup.identifySystem(replication)
        guard sys.systemIdentifier == session.identity.systemIdentifier else {
            throw CaptureError(.archiveMismatch, "after reconnecting, --source reached cluster \(sys.systemIdentifier), not \(session.identity.systemIdentifier) this archive is of",
                               fix: "list only the primary and its standbys in --source")
        }
        if sys.timeline != session.timeline {
            logger.warning("the source is on a new timeline: a standby was promoted; resuming from the slot there",
                           metadata: ["from": "\(session.timeline)", "to": "\(sys.timeline)"])
            session.promotedFrom = session.timeline
            session.timeline = sys.timeline
        }
    }

    /// A connection that cannot be opened or was lost, or a server refusing work while it shuts
    /// down or starts up (SQLSTATE 57…, 08…): worth another attempt.
    static func isTransient(_ error: Error) -> Bool {
        if let c = error as? CaptureError { return c.code == .connection }
        guard let e = error as? PostgresError else { return false }
        if e.code == .connection || e.code == .closed { return true }
        guard let state = e.sqlState else { return false }
        return state.hasPrefix("57") || state.hasPrefix("08")
    }

    /// Seconds before reconnect attempt `attempt` (1, 2, …): doubling from 0.5 s, at most 16 s.
    static func backoff(_ attempt: Int) -> Double { min(30.0, 0.5 * pow(2.0, Double(min(attempt, 6) - 1))) }

    /// The line a run ends with when the source stays out of reach.
    static func lostSource(after attempts: Int, _ error: Error, during: String? = nil) -> CaptureError {
        let message = (error as? CaptureError)?.message ?? (error as? PostgresError)?.message ?? "\(error)"
        let after = during.map { "; \($0) starts over" } ?? "; nothing confirmed is lost"
        return CaptureError(.connection, "lost the source\(during.map { " during \($0)" } ?? "") and could not reconnect after \(attempts) attempts: \(message)",
                            fix: "check that PostgreSQL is up and reachable, then run logbook again" + after)
    }

    /// Returns true if a stop was requested while sleeping.
    func sleepUnlessStopped(_ seconds: Double) -> Bool { stop.sleep(seconds) }

    struct Session {
        /// Nil between a lost connection and the next one.
        var replication: PostgresConnection?
        var identity: ArchiveIdentity
        var protocolVersion: Int
        var serverVersion: Int
        /// The source's timeline when the session began: a promotion moves it.
        var timeline: Int
        /// The timeline before a promotion this run reconnected across.
        var promotedFrom: Int?
    }

    /// Preflight, archive identity, publication, slot and base copies.
    func prepare(tables: [TableName]) throws -> Session {
        let conn = try Preflight.connect(options.source, replication: false)
        // Before anything is made on the source: a failover slot only where it can be synchronized;
        // decoding on a standby only where it can be.
        let onStandby = try Standby.isStandby(conn)
        let primary = try options.primary.map { p -> PostgresConnection in
            do { return try Preflight.connect(p, replication: false) } catch let e as CaptureError {
                throw CaptureError(e.code, "--primary: \(e.message)", fix: e.fix)
            }
        }
        if onStandby {
            try Standby.preflight(conn, primary: primary, failoverSlot: options.failoverSlot)
        } else if options.failoverSlot {
            try Failover.preflight(conn, source: options.source, logger: logger)
        }
        _ = try Preflight.check(conn, tables: tables, slot: options.slot)
        let repl = try Preflight.connect(options.source, replication: true)
        let sys = try Setup.identifySystem(repl)
        let identity = ArchiveIdentity(systemIdentifier: sys.systemIdentifier, database: sys.database, slot: options.slot,
                                       publication: options.publication, createdAt: ISO8601DateFormatter().string(from: Date()),
                                       encryptionKeyID: archive.key?.id)
        let existing = try archive.readIdentity()
        if let existing { try ArchiveEncryption.check(archive.key, against: existing, archive: options.archive) }
        if let existing, let why = existing.mismatch(with: identity) {
            throw CaptureError(.archiveMismatch, "refusing to mix histories: \(why)",
                               fix: "use a new --archive folder for this source, or point --source/--slot at the ones this archive was made from")
        }
        if existing == nil {
            // A new archive folder uses only a slot it creates: one already there is another archive's or another consumer's.
            let found = try Setup.slotState(conn, slot: options.slot)
            if found.exists {
                throw CaptureError(.slotTaken,
                    "slot \(options.slot) already exists on the source (plugin \(found.plugin ?? "?"), confirmed up to \(found.confirmedFlush.map(\.description) ?? "nothing")) and this archive folder is new: it belongs to another archive or consumer",
                    fix: "give this archive a slot of its own with --slot NAME, or, if nothing uses it, drop it: SELECT pg_drop_replication_slot('\(options.slot)');")
            }
            try archive.create(identity)
        }
        let id = existing ?? identity

        // A base copy interrupted before it was complete (a full disk, a kill) is never used: removed.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: archive.basePath)) ?? [] where name.hasSuffix(".base.partial") {
            try? FileManager.default.removeItem(atPath: archive.basePath + "/" + name)
            logger.info("removed an incomplete base copy left by an earlier run", metadata: ["file": "\(name)"])
        }
        if onStandby {
            try Standby.ensurePublication(standby: conn, primary: primary, name: options.publication, tables: tables, logger: logger)
        } else {
            try Setup.ensurePublication(conn, name: options.publication, tables: tables, logger: logger)
        }
        let slot = try Setup.slotState(conn, slot: options.slot)
        let baseTables = Set(try BaseCopyReader.headers(in: archive).map(\.header.table))
        let lastArchived = try SegmentScanner.lastCommitIncludingOpen(in: archive)
        let archiveHasHistory = !baseTables.isEmpty || lastArchived != nil

        if slot.exists, slot.plugin != "pgoutput" {
            throw CaptureError(.invalidOption, "slot \(options.slot) exists but uses plugin \(slot.plugin ?? "?")",
                               fix: "choose another --slot, or drop that slot if nothing else uses it")
        }
        var needsSlot = !slot.exists
        // The slot is never confirmed past what the archive holds: one that is ahead of it means
        // archive files were lost (deleted, or an older copy put back).
        let endBefore = try ArchiveView.take(archive, allowGaps: true).end
        let newestBase = try BaseCopyReader.headers(in: archive).max { $0.header.lsn < $1.header.lsn }?.header
        let archiveEnd = max(endBefore.lsn ?? .zero, newestBase?.lsn ?? .zero)
        // Where a gap would start: the end of what the archive can restore, by LSN and by time.
        let gapStart = (lsn: archiveEnd, time: max(endBefore.time ?? newestBase?.snapshotTime ?? PGTimestamp(rawValue: 0),
                                                   newestBase?.snapshotTime ?? PGTimestamp(rawValue: 0)))
        let slotAhead = slot.exists && !slot.lost && archiveHasHistory && (slot.confirmedFlush.map { $0 > archiveEnd } ?? false)
        if slotAhead && !options.resnapshot {
            throw CaptureError(.slotAhead,
                "slot \(options.slot) has confirmed up to \(slot.confirmedFlush!) but the archive ends at \(archiveEnd): archive files are missing (deleted, or an older copy put back), and the changes between are not in it",
                fix: "put the missing files back and restart; or run logbook run --resnapshot to take new base copies (the gap is recorded and replay will name it)")
        }
        if slot.lost || (!slot.exists && archiveHasHistory) || slotAhead {
            let gapFrom = lastArchived?.endLSN ?? .zero
            let what = slot.lost ? "was invalidated (wal_status = lost)" : slotAhead ? "is ahead of the archive" : "no longer exists on the source"
            guard options.resnapshot else {
                throw CaptureError(.slotLost,
                    "slot \(options.slot) \(what): changes after \(gapFrom)\(lastArchived.map { " (\($0.commitTime))" } ?? "") are not in the archive",
                    fix: "run logbook run --resnapshot to take new base copies; the gap is recorded and replay will name it")
            }
            if slot.exists { try conn.query("SELECT pg_drop_replication_slot($1)", [options.slot]) }
            needsSlot = true
        }
        if needsSlot {
            let (lsn, snapshot) = try Standby.whileCreatingSlot(onStandby: onStandby, primary: options.primary, logger: logger) {
                try Setup.createSlot(repl, name: options.slot, temporary: false, serverVersion: repl.serverVersionNum, failover: options.failoverSlot)
            }
            logger.info("created replication slot", metadata: ["slot": "\(options.slot)", "lsn": "\(lsn)", "failover": "\(options.failoverSlot)"])
            let reason = archiveHasHistory ? "resnapshot" : "initial"
            if archiveHasHistory {
                try Setup.recordGap(ArchiveGap(fromLSN: gapStart.lsn, fromTime: gapStart.time, toLSN: lsn,
                                               detectedAt: ISO8601DateFormatter().string(from: Date()), reason: "slot lost; new base copies taken"),
                                    archive: archive)
                logger.warning("recorded a gap in the archive", metadata: ["from": "\(gapStart.lsn)", "to": "\(lsn)"])
            }
            stats.baseCopyLanes.merge(try Setup.takeBaseCopies(source: options.source, snapshot: snapshot, lsn: lsn, tables: tables, reason: reason,
                                     archive: archive, lanes: options.baseCopyLanes, pagesPerLane: options.baseCopyPagesPerLane,
                                     logger: logger, stop: stop)) { $1 }
        } else {
            // Tables added to --tables since the archive began: a base copy of their own, consistent
            // with a temporary slot's snapshot, without stopping the stream of the others.
            let newTables = tables.filter { !baseTables.contains($0.description) }
            if !newTables.isEmpty {
                let tmp = try Preflight.connect(options.source, replication: true)
                let (lsn, snapshot) = try Standby.whileCreatingSlot(onStandby: onStandby, primary: options.primary, logger: logger) {
                    try Setup.createSlot(tmp, name: "\(options.slot)_add_\(getpid())", temporary: true, serverVersion: tmp.serverVersionNum)
                }
                stats.baseCopyLanes.merge(try Setup.takeBaseCopies(source: options.source, snapshot: snapshot, lsn: lsn, tables: newTables, reason: "added",
                                         archive: archive, lanes: options.baseCopyLanes, pagesPerLane: options.baseCopyPagesPerLane,
                                     logger: logger, stop: stop)) { $1 }
            }
        }
        if options.failoverSlot, slot.exists, !needsSlot, !slot.failover {
            _ = try repl.query("ALTER_REPLICATION_SLOT \(PostgresConnection.quoteIdent(options.slot)) (FAILOVER true)")
            logger.info("made the replication slot a failover slot", metadata: ["slot": "\(options.slot)"])
        }
        let version = repl.serverVersionNum
        return Session(replication: repl, identity: id, protocolVersion: version >= 140000 ? 2 : 1, serverVersion: version,
                       timeline: sys.timeline)
    }

    /// One replication session: from the archive's last durable commit until endpos, a stop,
    /// or a lost connection (thrown).
    func stream(_ session: Session) throws {
        streamed = false
        guard let conn = session.replication else { throw PostgresError(.closed, "no replication connection") }
        let writer = try SegmentWriter(archive: archive, identity: session.identity, options: options.segment)
        currentWriter = writer
        if let d = writer.durable { options.durableMark?.set(d.commitLSN) }
        metrics.abortTransaction()
        let router = ChangeRouter(writer: writer, archive: archive, source: options.source, logger: logger, metrics: metrics)
        let start = writer.durable?.endLSN ?? .zero
        var opts = ["proto_version '\(session.protocolVersion)'",
                    "publication_names \(PostgresConnection.quoteLiteral(PostgresConnection.quoteIdent(options.publication)))"]
        if session.protocolVersion >= 2 {
            opts.append("messages 'true'")
            if options.streaming { opts.append("streaming 'true'") }
        }
        let cmd = "START_REPLICATION SLOT \(PostgresConnection.quoteIdent(options.slot)) LOGICAL \(start) (\(opts.joined(separator: ", ")))"
        // After a crash the old walsender may hold the slot for a moment: wait for it, briefly.
        var busyRetries = 0
        while true {
            do {
                try conn.startReplication(cmd)
                break
            } catch let e as PostgresError where e.code == .query {
                if e.sqlState == "55006" && busyRetries < 20 && !stop.isRequested {
                    busyRetries += 1
                    logger.info("slot is still held by another process, waiting", metadata: ["slot": "\(options.slot)", "attempt": "\(busyRetries)"])
                    if stop.sleep(0.5) { return }
                    continue
                }
                // The server is shutting down or starting up: a connection problem, retried.
                if let state = e.sqlState, state.hasPrefix("57") || state.hasPrefix("08") {
                    throw PostgresError(.connection, e.message, sqlState: state)
                }
                throw Self.classifyStartError(e, slot: options.slot, durable: writer.durable, promotedFrom: session.promotedFrom)
            }
        }
        streamed = true
        metrics.streaming.record(1)
        options.health?.update { $0.streaming = true; $0.lastDurable = Date(); $0.confirmed = start }
        defer {
            metrics.streaming.record(0)
            options.health?.update { $0.streaming = false }
        }
        logger.info("streaming", metadata: ["slot": "\(options.slot)", "from": "\(start)", "proto_version": "\(session.protocolVersion)"])

        var lastKeepaliveEnd = LSN.zero
        var serverEnd = start
        var writtenBytes = writer.bytesWritten
        var sealedCount = writer.segmentsSealed
        var lastReceived = start
        var confirmed = LSN.zero
        var nextFlush = Date().addingTimeInterval(options.flushInterval)
        var lastStatusSent = Date.distantPast
        var decoder = PgOutputDecoder(protocolVersion: session.protocolVersion)
        // On a standby, the primary's clock and WAL position (the standby's stream reaches them once it has replayed them).
        let probe = WatermarkProbe(source: options.primary ?? options.source, interval: options.watermarkInterval, logger: logger)
        defer { probe.close() }

        // The slot is confirmed only as far as the archive durably says it is complete: its last
        // commit or its last watermark. So the slot is never ahead of the archive, and a slot found
        // ahead of it at the next start means archive files were lost.
        func confirmPosition() -> LSN {
            max(writer.durable?.endLSN ?? start, writer.durableWatermark?.lsn ?? .zero, confirmed)
        }
        func flushAndConfirm(replyRequested: Bool = false, forceWatermark: Bool = false) throws {
            let began = DispatchTime.now().uptimeNanoseconds
            try writer.checkInPlace()
            if let d = try writer.flush() { options.durableMark?.set(d.commitLSN) }
            // Nothing pending and the stream past the probe's position: the archive is complete to
            // there. The watermark is fsynced before that position is confirmed. Without the probe's
            // time (a source that cannot be asked, or a stop), it carries the position alone.
            if router.isIdle, !writer.isInTransaction, writer.bufferedBytes == 0 {
                var w = probe.take(keepaliveEnd: lastKeepaliveEnd)
                if w == nil, forceWatermark || probe.unavailable, lastKeepaliveEnd > confirmPosition() {
                    w = Watermark(lsn: lastKeepaliveEnd, time: writer.lastWatermark?.time ?? writer.durable?.commitTime ?? PGTimestamp(rawValue: 0))
                }
                if let w {
                    try writer.writeWatermark(w)
                    try writer.flush()
                    stats.lastWatermark = writer.durableWatermark
                }
            }
            metrics.fsync.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - began))
            stats.flushes += 1
            let pos = confirmPosition()
            // A pending watermark reading needs the server's answer (a keepalive with its WAL end).
            try conn.sendCopyData(StandbyStatusUpdate(written: max(lastReceived, pos), flushed: pos, applied: pos,
                                                      replyRequested: replyRequested || probe.pending != nil).encode())
            if pos != confirmed { logger.debug("confirmed", metadata: ["lsn": "\(pos)"]) }
            confirmed = pos
            stats.lastConfirmed = pos
            metrics.confirmed(pos, serverEnd: max(serverEnd, lastKeepaliveEnd))
            metrics.bytesWritten.increment(by: Int64(writer.bytesWritten - writtenBytes))
            writtenBytes = writer.bytesWritten
            if writer.segmentsSealed > sealedCount { metrics.segmentsSealed.increment(by: Int64(writer.segmentsSealed - sealedCount)) }
            sealedCount = writer.segmentsSealed
            let durable = writer.durable, watermark = writer.durableWatermark
            options.health?.update {
                $0.lastDurable = Date(); $0.confirmed = pos
                if let d = durable { $0.lastCommitTime = d.commitTime }
                if let w = watermark { $0.watermark = w }
            }
            lastStatusSent = Date()
            nextFlush = Date().addingTimeInterval(options.flushInterval)
        }
        func finish(_ why: String) throws {
            try flushAndConfirm(forceWatermark: true)
            if !writer.isInTransaction { try writer.seal() }
            conn.endReplication()
            logger.info("stopped", metadata: ["reason": "\(why)", "confirmed": "\(confirmed)"])
        }

        while true {
            stats.streamedAborts = router.streamedAborts
            if stop.isRequested { try finish("stop requested"); return }
            let wait = max(0.0, min(0.2, nextFlush.timeIntervalSinceNow))
            switch try conn.readCopyData(timeout: wait) {
            case .end:
                if let endpos = options.endpos, confirmed >= endpos { return }
                throw PostgresError(.closed, "the server ended the replication stream")
            case .timeout:
                // A quiet moment: a segment old enough is sealed now, not at the next commit.
                if !writer.isInTransaction {
                    let sealed = writer.segmentsSealed
                    try writer.sealIfDue(quiet: true)
                    if writer.segmentsSealed > sealed { options.onSegmentSealed?() }
                }
            case .data(let bytes):
                switch try ReplicationMessage.decode(bytes) {
                case .keepalive(let k):
                    lastKeepaliveEnd = max(lastKeepaliveEnd, k.walEnd)
                    if k.replyRequested { try flushAndConfirm() }
                case .xlogData(let x):
                    serverEnd = max(serverEnd, x.walEnd)
                    let routed: PgOutputDecoder.Routed
                    do { routed = try decoder.route(bytes, from: x.payloadOffset) } catch let e as WireDecodeError {
                        throw CaptureError(.protocolError, "cannot decode a pgoutput message at \(x.walStart): \(e)",
                                           fix: "this server sends a message this version of logbook does not know; upgrade logbook (nothing after \(confirmed) was confirmed)")
                    }
                    let completed: LSN?
                    router.changeLSN = x.walStart
                    switch routed {
                    case .rowChange(_, let relation, let xid):
                        let raw = PgOutputDecoder.normalized(bytes, from: x.payloadOffset, hadStreamXid: xid != nil)
                        try router.handleRowChange(relation: relation, streamXid: xid, raw: raw)
                        completed = nil
                    case .other(let decoded):
                        let raw = PgOutputDecoder.normalized(bytes, from: x.payloadOffset, hadStreamXid: decoded.streamXid != nil)
                        completed = try router.handle(decoded, raw: raw)
                    }
                    if let end = completed {
                        lastReceived = max(lastReceived, end)
                        stats.transactions = router.transactions
                        stats.changes = router.changes
                        stats.skippedDuplicates = router.skipped
                        stats.streamedCommits = router.streamedCommits
                        stats.preparedChanges = router.preparedChanges
                        if !writer.isInTransaction {
                            let sealed = writer.segmentsSealed
                            try writer.sealIfDue()
                            if writer.segmentsSealed > sealed { options.onSegmentSealed?() }
                        }
                        if let endpos = options.endpos, end >= endpos, router.isIdle { try finish("endpos \(endpos) reached"); return }
                    }
                }
            }
            if router.isIdle { probe.probeIfDue() }
            if Date() >= nextFlush || writer.bufferedBytes >= options.flushBytes { try flushAndConfirm() }
            // With --endpos on a quiet database, ask the server where WAL ends instead of waiting for its keepalive.
            if let endpos = options.endpos {
                if router.isIdle && !writer.hasUnflushedData && lastKeepaliveEnd >= endpos { try finish("endpos \(endpos) reached"); return }
                if Date().timeIntervalSince(lastStatusSent) > 0.5 { try flushAndConfirm(replyRequested: true) }
            }
        }
    }

    static func classifyStartError(_ e: PostgresError, slot: String, durable: CommitPosition?, promotedFrom: Int? = nil) -> Error {
        let gap = durable.map { "changes after \($0.endLSN) (\($0.commitTime))" } ?? "changes"
        if e.sqlState == "42704", let from = promotedFrom {
            return CaptureError(.slotLost, "slot \(slot) is not on the promoted standby (timeline \(from) ended): it was not synchronized before the failover, so \(gap) are not in the archive",
                                fix: "run logbook run --resnapshot to take new base copies (the gap is recorded and replay will name it); to keep the slot through the next failover, run with --failover-slot (PostgreSQL 17+, docs/operations.md)")
        }
        if e.sqlState == "42704" {
            return CaptureError(.slotLost, "slot \(slot) no longer exists on the source: \(gap) are not in the archive",
                                fix: "run logbook run --resnapshot to take new base copies; the gap is recorded and replay will name it")
        }
        if e.message.contains("can no longer get changes") || e.message.contains("invalidated") {
            return CaptureError(.slotLost, "slot \(slot) was invalidated on the source: \(gap) are not in the archive",
                                fix: "run logbook run --resnapshot to take new base copies; consider raising max_slot_wal_keep_size")
        }
        if e.sqlState == "55006" {
            return CaptureError(.serverError, "slot \(slot) is in use by another process: \(e.message)",
                                fix: "stop the other logbook or consumer of this slot, or choose another --slot")
        }
        return CaptureError(.serverError, "START_REPLICATION failed: \(e)", underlying: e)
    }
}
