import CoreMetrics
import Archive
import Foundation
import Logging
import PGWire

/// Publishes the archive to Kafka, behind the capture: one topic per table
/// (`PREFIX.SCHEMA.TABLE`), Debezium envelopes, keyed by primary key, in commit order.
///
/// Archive first: it reads only what the archive holds durably, so a slow or absent Kafka never
/// holds back the capture or the slot. Its position (the end LSN of the last transaction whose every
/// message Kafka acknowledged) is recorded after each checkpoint; after a restart it resumes from
/// there. Guarantee: at least once — a crash between delivery and recording repeats at most the
/// messages since the last checkpoint, and every message carries its commit LSN and index
/// (`source.lsn`, `source.sequence`) so consumers can drop repeats.
public final class Publisher: @unchecked Sendable {
    public struct Options: Sendable {
        public var kafka: KafkaConfig
        /// Publish transactions committed after this LSN instead of the recorded position (`logbook publish --from`).
        public var from: LSN?
        /// Publish transactions committed after this time (`logbook publish --from TIME`).
        public var fromTime: PGTimestamp?
        /// Only these tables (`schema.table`); all when empty.
        public var tables: Set<String> = []
        /// Checkpoint (wait for acknowledgements, record the position) at least this often.
        public var checkpointSeconds: Double = 1
        /// Record the position in the archive (false for a one-off re-publication).
        public var recordPosition = true
        /// First publish each table's newest base copy as `r` events, then the changes after it
        /// (`publish --snapshot`, `run --kafka-snapshot`).
        public var snapshot = false
        /// With `snapshot` while following a capture: the tables whose base copies to wait for.
        public var snapshotTables: [String] = []
        public init(kafka: KafkaConfig) { self.kafka = kafka }
    }

    public struct Stats: Sendable {
        public var messages = 0
        public var transactions = 0
        public var position: LSN = .zero
        public var unfilledToastValues = 0
        /// Values whose text Debezium's mapping could not read (published as null, logged).
        public var unreadableValues = 0
        public var snapshotRows = 0
        public var transactionEvents = 0
    }

    let archive: ArchiveDirectory
    let options: Options
    let logger: Logger
    var envelope = DebeziumEnvelope(settings: EventSettings(), database: "", prefix: "")
    let producer: KafkaProducer
    let toast: ToastCache
    private let lock = NSLock()
    private var _stats = Stats()
    public var stats: Stats { lock.withLock { _stats } }

    public init(archive path: String, key: ArchiveKey? = nil, options: Options, logger: Logger) throws {
        archive = ArchiveDirectory(path, key: key)
        self.options = options
        self.logger = logger
        // Topic names a broker accepts, one table per topic: refused here, before anything is published.
        try TopicName.checkPrefix(options.kafka.topicPrefix)
        var known = try (options.tables.sorted() + options.snapshotTables).map { try QualifiedName(parsing: $0) }
        // The archive's base copies (one being written by a running capture, unreadable yet, is met later).
        for path in (try? archive.baseFiles()) ?? [] {
            guard let h = try? BaseCopyReader(path: path, key: archive.key).header, options.tables.isEmpty || options.tables.contains(h.table) else { continue }
            known.append(QualifiedName(schema: h.definition.schema, name: h.definition.name))
        }
        try TopicName.checkDistinct(known, prefix: options.kafka.topicPrefix)
        producer = try KafkaProducer(options.kafka)
        toast = ToastCache(archive: archive)
    }

    /// Topic → the table publishing to it: a second table mapping to the same topic is refused.
    private var topicOwners: [String: QualifiedName] = [:]
    func claimTopic(_ t: PublishedTable) throws {
        let name = QualifiedName(schema: t.schema, name: t.name)
        if let other = topicOwners[t.topic], other != name { throw TopicName.collision(t.topic, other, name) }
        topicOwners[t.topic] = name
    }

    /// Publishes until `shouldStop` says so. `durable` gives the commit LSN up to which the archive
    /// is durable (nil: everything complete in the archive, for an archive nobody is writing).
    /// With `follow`, waits for more; without, returns at the end of the archive.
    public func run(follow: Bool, durable: @Sendable () -> LSN?, shouldStop: @Sendable () -> Bool) throws {
        // A new archive is created by the capture: wait for it when following.
        while (try archive.readIdentity()) == nil {
            if !follow { _ = try archive.requireIdentity() }
            if shouldStop() { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let prefix = options.kafka.topicPrefix
        let settings = options.kafka.events
        envelope = DebeziumEnvelope(settings: settings, database: try archive.requireIdentity().database, prefix: prefix)
        let recorded = options.recordPosition ? PublishPosition.read(archive)?.lsn : nil
        var position = options.from ?? recorded ?? .zero
        var tables: [UInt32: PublishedTable] = [:]
        var definitions: [String: TableDefinition] = [:]
        var relations: [UInt32: RelationMessage] = [:]
        var current: Transaction?
        var lastCommitLSN: LSN?
        /// Tables published from a base copy: their changes in transactions before it are in it.
        var snapshotAt: [String: LSN] = [:]
        if options.snapshot && (recorded == nil || options.from != nil || !options.recordPosition) {
            guard let at = try publishSnapshot(follow: follow, shouldStop: shouldStop) else { return }
            snapshotAt = at
            if let first = at.values.min() { position = max(position, first) }
        }
        var cursor = try TailingCursor(archive: archive, from: position)
        var lastProduced = position
        var drained = false
        var lastCommitTime: PGTimestamp?
        var pending = 0
        var lastCheckpoint = Date()
        var backoff = 0.5

        func checkpoint() throws {
            while true {
                let outstanding = producer.flush(milliseconds: 1000)
                if producer.failed > 0 {
                    // Messages timed out: publish again from the last recorded position.
                    let err = producer.lastDeliveryError ?? "unknown"
                    logger.warning("Kafka did not acknowledge messages; publishing again from the recorded position",
                                   metadata: ["error": "\(err)", "from": "\(position)"])
                    throw KafkaError(.delivery, err)
                }
                if outstanding == 0 { break }
                if shouldStop() && !follow { break }
                logger.info("waiting for Kafka", metadata: ["outstanding": "\(outstanding)", "position": "\(position)"])
            }
            if lastProduced > position {
                position = lastProduced
                if options.recordPosition {
                    try PublishPosition(lsn: position, commitTime: lastCommitTime, messages: stats.messages,
                                        updatedAt: ISO8601DateFormatter().string(from: Date())).write(archive)
                }
            }
            lock.withLock { _stats.position = position }
            kafkaMessages.increment(by: Int64(pending))
            kafkaPosition.record(Double(position.rawValue))
            let archived = durable() ?? lastProduced
            kafkaLag.record(Double(archived > position ? archived.rawValue - position.rawValue : 0))
            pending = 0
            lastCheckpoint = Date()
        }

        let kafkaMessages = Counter(label: "logbook_kafka_messages_acknowledged_total")
        let kafkaPosition = Gauge(label: "logbook_kafka_published_lsn")
        let kafkaLag = Gauge(label: "logbook_kafka_lag_bytes")

        func produce(_ table: PublishedTable, key: [UInt8]?, value: [UInt8]?) throws {
            if settings.transactionMetadata, let cur = current, value != nil, !cur.begun {
                let e = envelope.transactionEvent(begin: true, id: cur.id, commitTime: cur.begin.commitTime, counts: [])
                try producer.produce(topic: "\(prefix).transaction", key: e.key, value: e.value)
                cur.begun = true
                pending += 1
                lock.withLock { _stats.messages += 1; _stats.transactionEvents += 1 }
            }
            try producer.produce(topic: table.topic, key: key, value: value)
            pending += 1
            lock.withLock { _stats.messages += 1 }
        }
        if !snapshotAt.isEmpty, options.recordPosition {
            // The snapshot is acknowledged: a restart continues after it instead of sending it again.
            try PublishPosition(lsn: position, commitTime: nil, messages: stats.messages,
                                updatedAt: ISO8601DateFormatter().string(from: Date())).write(archive)
        }

        while true {
            do {
                guard let ev = try cursor.next() else {
                    if pending > 0 || lastProduced > position { try checkpoint() }
                    if !follow || drained { return }
                    // The capture writes its last transactions before it says it stopped: one more
                    // pass to the end after the stop is seen, so nothing durable is left unpublished.
                    if shouldStop() { drained = true; continue }
                    producer.poll(milliseconds: 200)
                    continue
                }
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                switch ev {
                case .relation(let r):
                    relations[r.oid] = r
                    let t = PublishedTable(relation: r, definition: definitions[r.qualifiedName], prefix: prefix, settings: settings)
                    try claimTopic(t)
                    tables[r.oid] = t
                case .tableDefinition(let d):
                    // The definition may come after its Relation message: the table's codecs and schemas follow it.
                    definitions[d.qualifiedName] = d
                    for (oid, r) in relations where r.qualifiedName == d.qualifiedName {
                        tables[oid] = PublishedTable(relation: r, definition: d, prefix: prefix, settings: settings)
                    }
                case .begin(let b):
                    // Archive first: wait until the archive holds this transaction durably.
                    while let d = durable(), b.finalLSN > d {
                        if shouldStop() {
                            // The capture moves the mark before it says it stopped: read it once more.
                            if let last = durable(), b.finalLSN <= last { break }
                            try checkpoint()
                            return
                        }
                        producer.poll(milliseconds: 100)
                    }
                    current = Transaction(begin: b, skip: b.finalLSN < position || (options.fromTime.map { b.commitTime <= $0 } ?? false),
                                          lastCommitLSN: lastCommitLSN)
                case .commit(let c):
                    if let cur = current, !cur.skip {
                        if cur.begun {
                            let counts = cur.order.map { ($0, cur.counts[$0] ?? 0) }
                            let e = envelope.transactionEvent(begin: false, id: cur.id, commitTime: c.commitTime, counts: counts)
                            try producer.produce(topic: "\(prefix).transaction", key: e.key, value: e.value)
                            pending += 1
                            lock.withLock { _stats.messages += 1; _stats.transactionEvents += 1 }
                        }
                        lastProduced = c.endLSN
                        lastCommitTime = c.commitTime
                        lock.withLock { _stats.transactions += 1 }
                    }
                    lastCommitLSN = c.commitLSN
                    current = nil
                    producer.poll()
                    if pending >= 100_000 || Date().timeIntervalSince(lastCheckpoint) >= options.checkpointSeconds { try checkpoint() }
                case .message(let m):
                    guard m.lsn > position else { continue }
                    var pos = SourcePosition(commitLSN: m.lsn, endLSN: m.lsn, xid: nil, commitTime: PGTimestamp.now(), index: 0)
                    pos.lastCommitLSN = lastCommitLSN
                    let e = envelope.message(prefix: m.prefix, content: m.content, position: pos, now: now)
                    try producer.produce(topic: "\(prefix).message", key: e.key, value: e.value)
                    pending += 1
                    lock.withLock { _stats.messages += 1 }
                case .change(let msg, _):
                    guard let cur = current, !cur.skip else { continue }
                    cur.index += 1
                    var pos = SourcePosition(commitLSN: cur.begin.finalLSN, endLSN: .zero, xid: cur.begin.xid, commitTime: cur.begin.commitTime, index: cur.index)
                    pos.changeLSN = cursor.changeLSN
                    pos.lastCommitLSN = cur.lastCommitLSN
                    let before = envelope.unreadable
                    try publish(msg, position: pos, tables: tables, now: now, snapshotAt: snapshotAt, transaction: current, produce: produce)
                    if envelope.unreadable > before { noteUnreadable(envelope.unreadable - before) }
                case .rowChange:
                    break // only from a cursor that does not decode rows; this one does
                }
                backoff = 0.5
            } catch let e as KafkaError where e.code == .delivery {
                // Start over from the recorded position; repeats are possible (at least once).
                producer.resetCounts()
                _ = producer.flush(milliseconds: 0)
                Thread.sleep(forTimeInterval: backoff)
                backoff = min(30, backoff * 2)
                cursor = try TailingCursor(archive: archive, from: position)
                current = nil
                lastCommitLSN = nil
                lastProduced = position
                pending = 0
                if shouldStop() { return }
            }
        }
    }

    /// The transaction being published: for `source.sequence` and the transaction metadata.
    final class Transaction {
        var begin: BeginMessage
        var skip: Bool
        var lastCommitLSN: LSN?
        var index = 0
        /// A BEGIN event was sent (sent before the first event of a transaction that has one).
        var begun = false
        var total = 0
        var counts: [String: Int] = [:]
        var order: [String] = []
        var id: String { SourcePosition.transactionID(xid: begin.xid, commitLSN: begin.finalLSN) }

        init(begin: BeginMessage, skip: Bool, lastCommitLSN: LSN?) { self.begin = begin; self.skip = skip; self.lastCommitLSN = lastCommitLSN }

        /// Counts one event of `table` and gives its (total, per-table) order.
        func count(_ table: String) -> (Int, Int) {
            total += 1
            if counts[table] == nil { order.append(table) }
            counts[table, default: 0] += 1
            return (total, counts[table]!)
        }
    }

    func noteUnreadable(_ n: Int) {
        lock.withLock { _stats.unreadableValues += n }
        logger.warning("a value's text is not in a form Debezium's mapping reads; published as null",
                       metadata: ["columns": "\(envelope.unreadableColumns.sorted())"])
    }

    func publish(_ msg: PgOutputMessage, position: SourcePosition, tables: [UInt32: PublishedTable], now: Int64,
                 snapshotAt: [String: LSN], transaction: Transaction?,
                 produce: (PublishedTable, [UInt8]?, [UInt8]?) throws -> Void) throws {
        func wanted(_ t: PublishedTable) -> Bool {
            if let at = snapshotAt[t.qualifiedName], position.commitLSN < at { return false }
            return options.tables.isEmpty || options.tables.contains(t.qualifiedName)
        }
        func keyValues(_ row: [TupleValue], _ t: PublishedTable) -> [TupleValue] {
            t.keyPositions.map { $0 < row.count ? row[$0] : .null }
        }
        let tombstones = options.kafka.tombstones
        let metadata = options.kafka.events.transactionMetadata
        /// The position of one event, with its place in the transaction when metadata is on.
        func at(_ t: PublishedTable) -> SourcePosition {
            var p = position
            if metadata, let transaction {
                let (total, collection) = transaction.count(t.dataCollection)
                p.transaction = (transaction.id, total, collection)
            }
            return p
        }
        func event(_ op: Character, _ before: [TupleValue]?, _ after: [TupleValue]?, _ t: PublishedTable) throws {
            let key = envelope.key((after ?? before) ?? [], t)
            let value = envelope.change(op: op, before: before, after: after, table: t, position: at(t), now: now)
            try produce(t, op == "t" ? nil : key, value)
        }
        switch msg {
        case .insert(let i):
            guard let t = tables[i.relation], wanted(t) else { return }
            let row = i.new.values
            toast.remember(t.qualifiedName, key: { PublisherKey.of(keyValues(row, t)) }, columns: t.columnNames, values: row)
            try event("c", nil, row, t)
        case .update(let u):
            guard let t = tables[u.relation], wanted(t) else { return }
            var row = u.new.values
            let name = t.qualifiedName
            let cols = t.columnNames
            let oldKey = u.old.map { PublisherKey.of(keyValues($0.values, t)) }
            let newKey = PublisherKey.of(keyValues(row, t))
            // REPLICA IDENTITY FULL: the old row has the unchanged values.
            if let old = u.old, u.oldKind == .row {
                for i in row.indices where row[i] == .unchanged && i < old.values.count { row[i] = old.values[i] }
            }
            let missing = try toast.fill(name, key: oldKey ?? newKey, columns: cols, row: &row, keyColumns: t.keyColumns)
            if !missing.isEmpty {
                lock.withLock { _stats.unfilledToastValues += missing.count }
                logger.warning("unchanged TOAST value not known to the archive; published as null", metadata: ["table": "\(name)", "columns": "\(missing)"])
            }
            if let oldKey, oldKey != newKey { toast.forget(name, key: oldKey) }
            toast.remember(name, key: newKey, columns: cols, values: row)
            let before = u.old?.values
            if let oldKey, oldKey != newKey, let before, !t.nullKey {
                // A key change: a delete of the old key, then a create of the new one (as Debezium does).
                try event("d", before, nil, t)
                if tombstones, let k = envelope.key(before, t) { try produce(t, k, nil) }
                try event("c", nil, row, t)
            } else {
                try event("u", before, row, t)
            }
        case .delete(let d):
            guard let t = tables[d.relation], wanted(t) else { return }
            let old = d.old.values
            toast.forget(t.qualifiedName, key: PublisherKey.of(keyValues(old, t)))
            try event("d", old, nil, t)
            if tombstones, let k = envelope.key(old, t) { try produce(t, k, nil) }
        case .truncate(let tr):
            for oid in tr.relations {
                guard let t = tables[oid], wanted(t) else { continue }
                toast.values[t.qualifiedName] = nil
                try event("t", nil, nil, t)
            }
        case .message(let m):
            let e = envelope.message(prefix: m.prefix, content: m.content, position: position, now: now)
            try producer.produce(topic: "\(options.kafka.topicPrefix).message", key: e.key, value: e.value)
            lock.withLock { _stats.messages += 1 }
        default: break
        }
    }

    /// Publishes the newest base copy of every table (of `options.tables`, else all) as `r` events,
    /// the last row of each `source.snapshot = "last"`. Returns each table's base-copy LSN (nil: stopped
    /// while waiting for the capture's base copies).
    func publishSnapshot(follow: Bool, shouldStop: @Sendable () -> Bool) throws -> [String: LSN]? {
        var bases: [String: (path: String, header: BaseHeader)] = [:]
        while true {
            for b in try BaseCopyReader.headers(in: archive) where options.tables.isEmpty || options.tables.contains(b.header.table) {
                if let have = bases[b.header.table], have.header.lsn >= b.header.lsn { continue }
                bases[b.header.table] = b
            }
            let waiting = options.snapshotTables.filter { bases[$0] == nil }
            if waiting.isEmpty || !follow { break }
            if shouldStop() { return nil }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let prefix = options.kafka.topicPrefix
        var at: [String: LSN] = [:]
        for (table, base) in bases.sorted(by: { $0.key < $1.key }) {
            let def = base.header.definition
            let stored = def.storedColumns
            let relation = RelationMessage(oid: def.relationOID, namespace: def.schema, name: def.name,
                                           replicaIdentity: def.replicaIdentity.utf8.first ?? UInt8(ascii: "d"),
                                           columns: stored.map { .init(isKey: def.foldKey.contains($0.name), name: $0.name, typeOID: $0.typeOID, typmod: $0.typmod) })
            let t = PublishedTable(relation: relation, definition: def, prefix: prefix, settings: options.kafka.events)
            try claimTopic(t)
            var position = SourcePosition(commitLSN: base.header.lsn, endLSN: base.header.lsn, xid: nil, commitTime: base.header.snapshotTime, index: 0)
            position.changeLSN = base.header.lsn
            position.snapshot = "true"
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let reader = try BaseCopyReader(path: base.path, key: archive.key)
            var held: [TupleValue]?
            var rows = 0
            func send(_ row: [TupleValue], last: Bool) throws {
                position.snapshot = last ? "last" : "true"
                let before = envelope.unreadable
                let value = envelope.change(op: "r", before: nil, after: row, table: t, position: position, now: now)
                try producer.produce(topic: t.topic, key: envelope.key(row, t), value: value)
                if envelope.unreadable > before { noteUnreadable(envelope.unreadable - before) }
                toast.remember(table, key: PublisherKey.of(t.keyPositions.map { $0 < row.count ? row[$0] : .null }), columns: t.columnNames, values: row)
                rows += 1
                if rows % 10_000 == 0 { producer.poll() }
            }
            while let chunk = try reader.nextChunk() {
                var start = chunk.startIndex
                for i in chunk.indices where chunk[i] == 0x0A {
                    let fields = chunk[start..<i].split(separator: 0x09, omittingEmptySubsequences: false)
                    start = i + 1
                    if let h = held { try send(h, last: false) }
                    held = fields.map { $0.elementsEqual([0x5C, 0x4E]) ? TupleValue.null : .text(CopyText.unescape($0)) }
                }
            }
            if let h = held { try send(h, last: true) }
            toast.seeded.insert(table)
            lock.withLock { _stats.snapshotRows += rows; _stats.messages += rows }
            logger.info("published a base copy as snapshot events", metadata: ["table": "\(table)", "rows": "\(rows)", "lsn": "\(base.header.lsn)"])
            at[table] = base.header.lsn
        }
        while producer.flush(milliseconds: 1000) > 0 {
            if producer.failed > 0 { throw KafkaError(.delivery, producer.lastDeliveryError ?? "unknown") }
            if shouldStop() && !follow { break }
        }
        if producer.failed > 0 { throw KafkaError(.delivery, producer.lastDeliveryError ?? "unknown") }
        return at
    }
}
