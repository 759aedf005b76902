import Archive
import Foundation
import LibPQ
import Logging
import PGWire

/// Routes decoded pgoutput messages: plain transactions straight into the segment writer,
/// streamed ones into a spool until their Stream Commit (an aborted one never reaches the
/// archive), relation shapes into table-definition records, repeats of archived transactions
/// into the bin.
final class ChangeRouter {
    let writer: SegmentWriter
    let archive: ArchiveDirectory
    let source: String
    let logger: Logger
    let metrics: CaptureMetrics

    var inTransaction = false
    var skipping = false
    var spools: [UInt32: Spool] = [:]
    var streamXid: UInt32?
    /// The WAL position of the message being handled (the XLogData's start), archived before each change.
    var changeLSN: LSN?
    var definedShape: [UInt32: RelationMessage] = [:]
    var definedDefinition: [UInt32: TableDefinition] = [:]
    /// Per relation: its table and where its key's columns are in a tuple (nil: a table without a
    /// key, whose rows any key lookup must read), for the segments' key index.
    var indexKeys: [UInt32: (table: String, positions: [Int]?)] = [:]
    var typeRecords: [UInt32: [UInt8]] = [:]
    var catalog: PostgresConnection?
    private(set) var transactions = 0
    private(set) var changes = 0
    private(set) var skipped = 0
    private(set) var streamedCommits = 0
    private(set) var streamedAborts = 0
    /// Changes of streamed transactions written at their commit as they were prepared (not routed again).
    private(set) var preparedChanges = 0

    init(writer: SegmentWriter, archive: ArchiveDirectory, source: String, logger: Logger, metrics: CaptureMetrics) {
        self.metrics = metrics
        self.writer = writer
        self.archive = archive
        self.source = source
        self.logger = logger
        // Spools of a previous session are stale: the server streams those transactions again.
        if let names = try? FileManager.default.contentsOfDirectory(atPath: archive.spoolPath) {
            for n in names where n.hasSuffix(".spool") { unlink(archive.spoolPath + "/" + n) }
        }
    }

    /// No transaction is open and none is being spooled.
    var isIdle: Bool { !inTransaction && spools.isEmpty }

    /// Handles one message. Returns the end LSN when a transaction (or a non-transactional
    /// message) is complete.
    func handle(_ d: DecodedPgOutput, raw: [UInt8]) throws -> LSN? {
        if let xid = d.streamXid {
            guard let top = streamXid, let spool = spools[top] else {
                throw CaptureError(.protocolError, "streamed change for xid \(xid) outside a Stream Start")
            }
            if case .relation(let r) = d.message { spool.define(preparedDefinition(r), for: r.oid) }
            if let lsn = changeLSN { try spool.append(subxid: xid, ChangePosition.record(lsn)) }
            try spool.append(subxid: xid, raw)
            return nil
        }
        switch d.message {
        case .streamStart(let s):
            logger.debug("stream start", metadata: ["xid": "\(s.xid)", "first": "\(s.firstSegment)"])
            streamXid = s.xid
            if s.firstSegment || spools[s.xid] == nil {
                spools[s.xid]?.remove()
                spools[s.xid] = try Spool(directory: archive.spoolPath, xid: s.xid, encrypted: archive.key != nil,
                                          zstd: writer.frameCompressor, frameBytes: writer.frameBytes)
            }
            return nil
        case .streamStop:
            try spools[streamXid ?? 0]?.writeBuffer()
            streamXid = nil
            return nil
        case .streamAbort(let a):
            logger.debug("stream abort", metadata: ["xid": "\(a.xid)", "subxid": "\(a.subxid)", "spools": "\(spools.keys.sorted())"])
            if a.subxid == a.xid {
                spools.removeValue(forKey: a.xid)?.remove()
                streamedAborts += 1
                logger.debug("streamed transaction aborted", metadata: ["xid": "\(a.xid)"])
            } else {
                spools[a.xid]?.abortedSubxids.insert(a.subxid)
            }
            return nil
        case .streamCommit(let c):
            guard let spool = spools.removeValue(forKey: c.xid) else {
                throw CaptureError(.protocolError, "Stream Commit for xid \(c.xid) without its Stream Start")
            }
            defer { spool.remove() }
            streamedCommits += 1
            var begin = WireWriter(capacity: 21)
            begin.write(PgOutputMessage.Tag.begin.rawValue); begin.write(c.commitLSN); begin.write(c.commitTime); begin.write(c.xid)
            try beginTransaction(BeginMessage(finalLSN: c.commitLSN, commitTime: c.commitTime, xid: c.xid), raw: begin.bytes)
            var inner = PgOutputDecoder(protocolVersion: 1)
            func route(_ rec: [UInt8]) throws {
                if let lsn = ChangePosition.parse(rec) { changeLSN = lsn; return }
                defer { changeLSN = nil }
                switch try inner.route(rec) {
                case .rowChange(_, let relation, _): try handleRowChange(relation: relation, streamXid: nil, raw: rec)
                case .other(let d): try handleInTransaction(d.message, raw: rec)
                }
            }
            try spool.replay { entry in
                switch entry {
                case .record(let rec): try route(rec)
                case .frame(let prepared, let definitions):
                    if skipping { return }
                    // Prepared under the definitions the archive holds now: written as it is.
                    if prepared.relations.allSatisfy({ r in definitions[r.oid].map { holds($0, for: r.oid) } ?? false }) {
                        try writer.appendPrepared(prepared)
                        for r in prepared.relations { metrics.change(r.oid, count: r.changes) }
                        changes += prepared.changes
                        preparedChanges += prepared.changes
                        return
                    }
                    // A definition changed since (the catalog moved on before the commit): each change routed anew.
                    for rec in try prepared.records(zstd: writer.frameCompressor) { try route(rec) }
                }
            }
            var commit = WireWriter(capacity: 26)
            commit.write(PgOutputMessage.Tag.commit.rawValue); commit.write(UInt8(0)); commit.write(c.commitLSN)
            commit.write(c.endLSN); commit.write(c.commitTime)
            return try commitTransaction(CommitMessage(flags: 0, commitLSN: c.commitLSN, endLSN: c.endLSN, commitTime: c.commitTime), raw: commit.bytes)
        case .begin(let b):
            try beginTransaction(b, raw: raw)
            return nil
        case .commit(let c):
            return try commitTransaction(c, raw: raw)
        case .message(let m) where !m.transactional && !inTransaction:
            // Outside any transaction: archived on its own, at its LSN.
            if let last = writer.lastWritten, m.lsn <= last.endLSN { skipped += 1; return nil }
            try writer.appendChange(raw, relations: [])
            changes += 1
            return m.lsn
        default:
            try handleInTransaction(d.message, raw: raw)
            return nil
        }
    }

    /// An Insert, Update or Delete, checked but not decoded: spooled inside a stream, archived otherwise.
    func handleRowChange(relation: UInt32, streamXid: UInt32?, raw: [UInt8]) throws {
        if let xid = streamXid {
            guard let top = self.streamXid, let spool = spools[top] else {
                throw CaptureError(.protocolError, "streamed change for xid \(xid) outside a Stream Start")
            }
            if let prepared = spool.definitions[relation] {
                try spool.appendChange(subxid: xid, raw, relation: relation, lsn: changeLSN, keys: try keyNote(raw, key: prepared.key))
                return
            }
            if let lsn = changeLSN { try spool.append(subxid: xid, ChangePosition.record(lsn)) }
            try spool.append(subxid: xid, raw)
            return
        }
        guard inTransaction else { throw CaptureError(.protocolError, "row change outside a transaction") }
        if skipping { return }
        try writer.appendChange(raw, relations: [relation], lsn: changeLSN)
        try noteKeys(relation: relation, raw: raw)
        metrics.change(relation)
        changes += 1
    }

    /// Notes the key (old and new, for an update that moves a row) of a change for the segment's index.
    func noteKeys(relation: UInt32, raw: [UInt8]) throws {
        switch try keyNote(raw, key: indexKeys[relation]) {
        case .none: break
        case .everyKey(let t): writer.indexEveryKey(table: t)
        case .hashes(let t, let hs): for h in hs { writer.indexKey(table: t, hash: h) }
        }
    }

    /// The keys a change touches, given where its table's key is in a tuple.
    func keyNote(_ raw: [UInt8], key: (table: String, positions: [Int]?)?) throws -> KeyNote {
        guard let key else { return .none }
        guard let positions = key.positions else { return .everyKey(key.table) }
        let v = try RowChangeView(raw)
        var hashes: [UInt64] = []
        for tuple in [v.oldTuple, v.newTuple] {
            guard let tuple else { continue }
            var values: [ArraySlice<UInt8>?] = []
            values.reserveCapacity(positions.count)
            for p in positions {
                guard let c = v.column(p, of: tuple) else { values.append(nil); continue }
                values.append(c.kind == UInt8(ascii: "n") ? nil : v.bytes[c.value])
            }
            hashes.append(KeyIndex.hash(values))
        }
        return .hashes(key.table, hashes)
    }

    /// Whether the archive describes `relation` now as a streamed change of it was prepared under.
    func holds(_ prepared: Spool.Definition, for relation: UInt32) -> Bool {
        guard definedShape[relation] == prepared.shape, let def = definedDefinition[relation], def == prepared.definition,
              let key = indexKeys[relation] else { return false }
        return key.table == prepared.key.table && key.positions == prepared.key.positions
    }

    /// The definition a streamed Relation message would be recorded as, read now (its commit reads it
    /// again and keeps the prepared changes only if nothing moved); nil if the catalog cannot say.
    func preparedDefinition(_ r: RelationMessage) -> Spool.Definition? {
        let def: TableDefinition
        if definedShape[r.oid] == r, let known = definedDefinition[r.oid] {
            def = known
        } else {
            do {
                guard let catalog = try catalogConnection(), let fromCatalog = try Catalog.definition(oid: r.oid, on: catalog) else { return nil }
                def = try reconcile(r, catalogDef: fromCatalog)
            } catch {
                catalog = nil
                return nil
            }
        }
        return Spool.Definition(shape: r, definition: def)
    }

    /// Where a table's key is in the tuples of its Relation message (nil positions: no key).
    static func indexKey(_ def: TableDefinition, _ r: RelationMessage) -> (table: String, positions: [Int]?) {
        let positions = def.foldKey.map { k in r.columns.firstIndex { $0.name == k } }
        return (def.qualifiedName, def.foldKey.isEmpty || positions.contains(nil) ? nil : positions.compactMap { $0 })
    }

    func beginTransaction(_ b: BeginMessage, raw: [UInt8]) throws {
        inTransaction = true
        // A transaction the archive already holds (re-sent after a crash before the confirm).
        if let last = writer.lastWritten, b.finalLSN <= last.commitLSN {
            skipping = true
            return
        }
        skipping = false
        try writer.beginTransaction(b, raw: raw)
    }

    func commitTransaction(_ c: CommitMessage, raw: [UInt8]) throws -> LSN {
        inTransaction = false
        if skipping {
            skipping = false
            skipped += 1
            return c.endLSN
        }
        try writer.commitTransaction(c, raw: raw)
        transactions += 1
        metrics.commit(tableName: { self.definedShape[$0].map { "\($0.namespace).\($0.name)" } }, commitTime: c.commitTime)
        return c.endLSN
    }

    func handleInTransaction(_ message: PgOutputMessage, raw: [UInt8]) throws {
        switch message {
        case .relation(let r):
            // Every Relation message: the catalog may have changed without a change of columns
            // (a partition, an index, a replica identity).
            try define(r, raw: raw)
        case .type(let t):
            typeRecords[t.oid] = raw
        case .origin:
            break
        case .insert(let m):
            if !skipping { try writer.appendChange(raw, relations: [m.relation], lsn: changeLSN); try noteKeys(relation: m.relation, raw: raw); metrics.change(m.relation); changes += 1 }
        case .update(let m):
            if !skipping { try writer.appendChange(raw, relations: [m.relation], lsn: changeLSN); try noteKeys(relation: m.relation, raw: raw); metrics.change(m.relation); changes += 1 }
        case .delete(let m):
            if !skipping { try writer.appendChange(raw, relations: [m.relation], lsn: changeLSN); try noteKeys(relation: m.relation, raw: raw); metrics.change(m.relation); changes += 1 }
        case .truncate(let m):
            if !skipping {
                try writer.appendChange(raw, relations: m.relations, lsn: changeLSN)
                for r in m.relations { if let t = indexKeys[r]?.table { writer.indexEveryKey(table: t) } }
                m.relations.forEach { metrics.change($0) }; changes += 1
            }
        case .message:
            if !skipping { try writer.appendChange(raw, relations: [], lsn: changeLSN); changes += 1 }
        default:
            throw CaptureError(.protocolError, "unexpected pgoutput message inside a transaction: \(message)")
        }
    }

    /// A Relation message arrived (a table's first change in the session, or after a cache
    /// invalidation): record the table's definition if it changed — reconciled with the columns the
    /// message names, as the catalog may already be ahead of the stream.
    func define(_ r: RelationMessage, raw: [UInt8]) throws {
        // The catalog is read on a connection of its own, reopened once if it was lost (a restart);
        // without it the definition would lack what replay needs (attnums), so the session is retried.
        var catalogDef: TableDefinition?
        do {
            catalogDef = try catalogConnection().flatMap { try Catalog.definition(oid: r.oid, on: $0) }
        } catch {
            catalog = nil
            do { catalogDef = try catalogConnection().flatMap { try Catalog.definition(oid: r.oid, on: $0) } } catch {
                catalog = nil
                throw PostgresError(.connection, "cannot read the definition of \(r.qualifiedName) from the source's catalog: \(error)")
            }
        }
        // Row-level security or a column privilege that now hides part of the table from the
        // archiver's role: a later base copy would hold less than the table, so the run stops
        // here (before this change is archived; nothing after the last fsync is confirmed).
        if let d = catalogDef, let c = try catalogConnection() {
            try Visibility.check(TableName(schema: d.schema, name: d.name), oid: d.relationOID, on: c)
        }
        if catalogDef == nil {
            logger.warning("the source's catalog no longer has the table: its definition is taken from the stream alone",
                           metadata: ["table": "\(r.qualifiedName)", "oid": "\(r.oid)"])
        }
        let def = try reconcile(r, catalogDef: catalogDef)
        if definedShape[r.oid] == r, definedDefinition[r.oid] == def { return }
        if let before = definedDefinition[r.oid] { notePartitions(def, before: before) }
        var records: [[UInt8]] = []
        for c in r.columns { if let t = typeRecords[c.typeOID] { records.append(t) } }
        records.append(raw)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        records.append([LogbookRecordTag.tableDefinition] + [UInt8](try enc.encode(def)))
        writer.defineRelation(r.oid, table: def.qualifiedName, records: records)
        if definedShape[r.oid] != nil {
            logger.info("table shape changed", metadata: ["table": "\(def.qualifiedName)", "columns": "\(def.columns.map(\.name).joined(separator: ","))"])
        }
        definedShape[r.oid] = r
        definedDefinition[r.oid] = def
        indexKeys[r.oid] = Self.indexKey(def, r)
    }

    /// The table's definition from its Relation message and the catalog's view of it (nil: the
    /// catalog no longer has the table).
    func reconcile(_ r: RelationMessage, catalogDef: TableDefinition?) throws -> TableDefinition {
        let catalogColumns = catalogDef?.columns ?? []
        // Each column the stream names, matched to the catalog's by name and type, else by position
        // among the ordinary columns of the same type (a rename the catalog already shows): the match
        // gives its attnum, which follows it through renames.
        var match: [Int: Int] = [:]
        var used = Set<Int>()
        for (i, c) in r.columns.enumerated() {
            if let j = catalogColumns.indices.first(where: { !used.contains($0) && catalogColumns[$0].name == c.name
                                                       && catalogColumns[$0].typeOID == c.typeOID && catalogColumns[$0].typmod == c.typmod }) {
                match[i] = j; used.insert(j)
            }
        }
        let ordinary = catalogColumns.indices.filter { !catalogColumns[$0].isGenerated }
        for (i, c) in r.columns.enumerated() where match[i] == nil {
            if i < ordinary.count, !used.contains(ordinary[i]), catalogColumns[ordinary[i]].typeOID == c.typeOID {
                match[i] = ordinary[i]; used.insert(ordinary[i])
            }
        }
        var columns: [TableDefinition.Column] = []
        for (i, c) in r.columns.enumerated() {
            if let j = match[i] {
                var cc = catalogColumns[j]
                cc.name = c.name
                columns.append(cc)
            } else {
                let type = (try? catalogConnection()?.query("SELECT format_type($1, $2)", [String(c.typeOID), String(c.typmod)]).scalar) ?? nil
                columns.append(TableDefinition.Column(name: c.name, type: type ?? "text", typeOID: c.typeOID, typmod: c.typmod,
                                                      notNull: false, defaultExpression: nil))
            }
        }
        // Stored generated columns are not in the stream (the server computes them): placed by attnum.
        for g in catalogColumns where g.isGenerated && !columns.contains(where: { $0.attnum == g.attnum }) {
            let at = columns.firstIndex { ($0.attnum ?? Int.max) > (g.attnum ?? Int.max) } ?? columns.endIndex
            columns.insert(g, at: at)
        }
        let keyFromR = r.columns.filter(\.isKey).map(\.name)
        var def = catalogDef ?? TableDefinition(relationOID: r.oid, schema: r.namespace, name: r.name, columns: columns, primaryKey: [],
                                                replicaIdentity: String(UnicodeScalar(r.replicaIdentity)))
        def.columns = columns
        def.schema = r.namespace
        def.name = r.name
        if !def.primaryKey.allSatisfy({ k in columns.contains { $0.name == k } }) {
            def.primaryKey = r.replicaIdentity == UInt8(ascii: "f") || r.replicaIdentity == UInt8(ascii: "i") ? [] : keyFromR
        }
        if let cols = def.replicaIdentityColumns, !cols.allSatisfy({ k in columns.contains { $0.name == k } }) {
            def.replicaIdentityColumns = keyFromR
        }
        return def
    }

    /// PostgreSQL publishes nothing when a partition is attached, detached or dropped: say so.
    func notePartitions(_ def: TableDefinition, before: TableDefinition) {
        let now = Set((def.partitions ?? []).map { QualifiedName(schema: $0.schema, name: $0.name).description })
        let was = Set((before.partitions ?? []).map { QualifiedName(schema: $0.schema, name: $0.name).description })
        for p in now.subtracting(was).sorted() {
            logger.info("partition added", metadata: ["table": "\(def.qualifiedName)", "partition": "\(p)",
                "note": "rows a partition held before ATTACH PARTITION are not in the stream; if it had any, take new base copies (logbook run --resnapshot)"])
        }
        for p in was.subtracting(now).sorted() {
            logger.warning("partition detached or dropped: PostgreSQL publishes no change for that, so the archive still holds its rows as part of the table",
                           metadata: ["table": "\(def.qualifiedName)", "partition": "\(p)"])
        }
    }

    func catalogConnection() throws -> PostgresConnection? {
        if let catalog { return catalog }
        // A connection that cannot be opened (a server shutting down) is an error, never "no such
        // table": a definition from the stream alone would lack what replay needs.
        let c = try PostgresConnection(conninfo: source, replication: false, applicationName: "logbook-catalog")
        catalog = c
        return c
    }
}
