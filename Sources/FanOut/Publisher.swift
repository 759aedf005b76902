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
        public init(kafka: KafkaConfig) { self.kafka = kafka }
    }

    public struct Stats: Sendable {
        public var messages = 0
        public var transactions = 0
        public var position: LSN = .zero
        public var unfilledToastValues = 0
    }

    let archive: ArchiveDirectory
    let options: Options
    let logger: Logger
    var database = ""
    let producer: KafkaProducer
    let toast: ToastCache
    private let lock = NSLock()
    private var _stats = Stats()
    public var stats: Stats { lock.withLock { _stats } }

    public init(archive path: String, key: ArchiveKey? = nil, options: Options, logger: Logger) throws {
        archive = ArchiveDirectory(path, key: key)
        self.options = options
        self.logger = logger
        producer = try KafkaProducer(options.kafka)
        toast = ToastCache(archive: archive)
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
        database = try archive.requireIdentity().database
        var position = options.from ?? (options.recordPosition ? PublishPosition.read(archive)?.lsn : nil) ?? .zero
        var cursor = try TailingCursor(archive: archive, from: position)
        var tables: [UInt32: PublishedTable] = [:]
        var keys: [String: [String]] = [:]
        var current: (begin: BeginMessage, skip: Bool, index: Int)?
        var lastProduced = position
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
            try producer.produce(topic: table.topic, key: key, value: value)
            pending += 1
            lock.withLock { _stats.messages += 1 }
        }

        while true {
            do {
                guard let ev = try cursor.next() else {
                    if pending > 0 || lastProduced > position { try checkpoint() }
                    if !follow || shouldStop() { return }
                    producer.poll(milliseconds: 200)
                    continue
                }
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                switch ev {
                case .relation(let r):
                    let def = keys[r.qualifiedName]
                    tables[r.oid] = PublishedTable(schema: r.namespace, name: r.name, columns: r.columns.map { ($0.name, $0.typeOID) },
                                                   keyColumns: def ?? (r.replicaIdentity == UInt8(ascii: "f") ? [] : r.columns.filter(\.isKey).map(\.name)),
                                                   topic: "\(options.kafka.topicPrefix).\(r.namespace).\(r.name)")
                case .tableDefinition(let d):
                    keys[d.qualifiedName] = d.primaryKey
                    for (oid, t) in tables where t.schema == d.schema && t.name == d.name { tables[oid]?.keyColumns = d.primaryKey }
                case .begin(let b):
                    // Archive first: wait until the archive holds this transaction durably.
                    while let d = durable(), b.finalLSN > d {
                        if shouldStop() { try checkpoint(); return }
                        producer.poll(milliseconds: 100)
                    }
                    current = (b, b.finalLSN < position || (options.fromTime.map { b.commitTime <= $0 } ?? false), 0)
                case .commit(let c):
                    if let cur = current, !cur.skip {
                        lastProduced = c.endLSN
                        lastCommitTime = c.commitTime
                        lock.withLock { _stats.transactions += 1 }
                    }
                    current = nil
                    producer.poll()
                    if pending >= 100_000 || Date().timeIntervalSince(lastCheckpoint) >= options.checkpointSeconds { try checkpoint() }
                    if shouldStop() { try checkpoint(); return }
                case .message(let m):
                    guard m.lsn > position else { continue }
                    let pos = SourcePosition(commitLSN: m.lsn, endLSN: m.lsn, xid: 0, commitTime: PGTimestamp.now(), index: 0)
                    try producer.produce(topic: "\(options.kafka.topicPrefix).message", key: nil,
                                         value: DebeziumEnvelope.message(prefix: m.prefix, content: m.content, transactional: false,
                                                                         position: pos, database: database, prefix: options.kafka.topicPrefix, now: now))
                    pending += 1
                    lock.withLock { _stats.messages += 1 }
                case .change(let msg, _):
                    guard var cur = current, !cur.skip else { continue }
                    cur.index += 1
                    current = cur
                    let pos = SourcePosition(commitLSN: cur.begin.finalLSN, endLSN: .zero, xid: cur.begin.xid, commitTime: cur.begin.commitTime, index: cur.index)
                    try publish(msg, position: pos, tables: tables, now: now, produce: produce)
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
                lastProduced = position
                pending = 0
                if shouldStop() { return }
            }
        }
    }

    func publish(_ msg: PgOutputMessage, position pos: SourcePosition, tables: [UInt32: PublishedTable], now: Int64,
                 produce: (PublishedTable, [UInt8]?, [UInt8]?) throws -> Void) throws {
        func wanted(_ t: PublishedTable) -> Bool { options.tables.isEmpty || options.tables.contains("\(t.schema).\(t.name)") }
        func keyValues(_ row: [TupleValue], _ t: PublishedTable) -> [TupleValue] {
            t.keyColumns.isEmpty ? row : t.columns.enumerated().filter { t.keyColumns.contains($0.element.name) }.map { $0.offset < row.count ? row[$0.offset] : .null }
        }
        let db = database, prefix = options.kafka.topicPrefix
        switch msg {
        case .insert(let i):
            guard let t = tables[i.relation], wanted(t) else { return }
            let row = i.new.values
            let k = PublisherKey.of(keyValues(row, t))
            toast.remember("\(t.schema).\(t.name)", key: k, columns: t.columns.map(\.name), values: row)
            try produce(t, DebeziumEnvelope.key(row, t),
                        DebeziumEnvelope.change(op: "c", before: nil, after: row, table: t, position: pos, database: db, prefix: prefix, now: now))
        case .update(let u):
            guard let t = tables[u.relation], wanted(t) else { return }
            var row = u.new.values
            let name = "\(t.schema).\(t.name)"
            let cols = t.columns.map(\.name)
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
            if let oldKey, oldKey != newKey, let before {
                // A key change: a delete of the old key, then a create of the new one (as Debezium does).
                try produce(t, DebeziumEnvelope.key(before, t),
                            DebeziumEnvelope.change(op: "d", before: before, after: nil, table: t, position: pos, database: db, prefix: prefix, now: now))
                if options.kafka.tombstones { try produce(t, DebeziumEnvelope.key(before, t), nil) }
                try produce(t, DebeziumEnvelope.key(row, t),
                            DebeziumEnvelope.change(op: "c", before: nil, after: row, table: t, position: pos, database: db, prefix: prefix, now: now))
            } else {
                try produce(t, DebeziumEnvelope.key(row, t),
                            DebeziumEnvelope.change(op: "u", before: before, after: row, table: t, position: pos, database: db, prefix: prefix, now: now))
            }
        case .delete(let d):
            guard let t = tables[d.relation], wanted(t) else { return }
            let old = d.old.values
            toast.forget("\(t.schema).\(t.name)", key: PublisherKey.of(keyValues(old, t)))
            try produce(t, DebeziumEnvelope.key(old, t),
                        DebeziumEnvelope.change(op: "d", before: old, after: nil, table: t, position: pos, database: db, prefix: prefix, now: now))
            if options.kafka.tombstones { try produce(t, DebeziumEnvelope.key(old, t), nil) }
        case .truncate(let tr):
            for oid in tr.relations {
                guard let t = tables[oid], wanted(t) else { continue }
                toast.values["\(t.schema).\(t.name)"] = nil
                try produce(t, nil, DebeziumEnvelope.change(op: "t", before: nil, after: nil, table: t, position: pos, database: db, prefix: prefix, now: now))
            }
        case .message(let m):
            try producer.produce(topic: "\(prefix).message", key: nil,
                                 value: DebeziumEnvelope.message(prefix: m.prefix, content: m.content, transactional: true, position: pos,
                                                                 database: db, prefix: prefix, now: now))
            lock.withLock { _stats.messages += 1 }
        default: break
        }
    }
}
