import Archive
import Foundation
import PGWire

/// How events are written: schemaless JSON, or JSON with its Kafka Connect schema (Debezium's
/// `JsonConverter` with `schemas.enable=false` / `true`), and Debezium's value conversions.
public struct EventSettings: Sendable {
    public var format: EventFormat = .json
    /// nil: the format's default — Debezium's `precise` for `json-schema`, `string` for `json`.
    public var decimal: DecimalHandling?
    public var time: TimePrecision = .adaptive
    public var hstore: HstoreHandling = .json
    public var interval: IntervalHandling = .numeric
    public var binary: BinaryHandling = .bytes
    /// The `transaction` block in every change event and BEGIN/END events on `PREFIX.transaction`
    /// (Debezium's `provide.transaction.metadata`).
    public var transactionMetadata = false
    public init() {}
    /// The decimal handling in effect.
    public var decimalHandling: DecimalHandling { decimal ?? (format == .jsonSchema ? .precise : .string) }
    /// Whether a table without a primary key (or REPLICA IDENTITY USING INDEX) has a null message key,
    /// as Debezium's: under `json-schema`; `json` keys such a table by the whole row.
    var nullKeyWithoutKey: Bool { format == .jsonSchema }
    var codecSettings: ColumnCodec.Settings {
        ColumnCodec.Settings(decimal: decimalHandling, time: time, hstore: hstore, interval: interval, binary: binary)
    }
}

public enum EventFormat: String, Sendable, CaseIterable {
    /// `{"before":…,"after":…,…}`: what `JsonConverter` writes with `schemas.enable=false`.
    case json
    /// `{"schema":{…},"payload":{…}}`: what `JsonConverter` writes with `schemas.enable=true`.
    case jsonSchema = "json-schema"
}

/// A table as the publisher knows it: its Relation message (columns, types) and its table
/// definition (key, nullability, enums, domains), with each column's codec and, for
/// `json-schema`, the key and envelope schemas written once per shape.
public struct PublishedTable: Sendable {
    public var schema: String
    public var name: String
    public var columns: [(name: String, typeOID: UInt32)]
    var codecs: [ColumnCodec]
    var optional: [Bool]
    public var keyColumns: [String]
    /// Positions of the key columns (all columns for a table without a key).
    var keyPositions: [Int]
    /// The message key is null (no key columns, under `json-schema`): Debezium's key for such a table.
    var nullKey = false
    /// Each column's `default` in its schema (Debezium's derivation, see ColumnDefault).
    var defaults: [[UInt8]?]
    /// Under `json-schema`, what a NOT NULL column without a value is written as: its default, else
    /// Debezium's fallback (a delete's old row has only the key under REPLICA IDENTITY DEFAULT).
    var placeholders: [[UInt8]?] = []
    /// `PREFIX.SCHEMA.TABLE`, every character outside `[a-zA-Z0-9._-]` as `_` (see TopicName).
    public var topic: String
    var keySchema: [UInt8] = []
    var envelopeSchema: [UInt8] = []
    /// `schema.table` as the archive names it, and the `"schema":…,"table":…` of the source block.
    let qualifiedName: String
    let sourceNames: [UInt8]
    let columnNames: [String]
    /// Each column's `"name":`, escaped once.
    let columnKeys: [[UInt8]]
    /// `schema.table`, as Debezium names a data collection in transaction metadata.
    let dataCollection: String

    init(relation r: RelationMessage, definition: TableDefinition?, prefix: String, settings: EventSettings) {
        schema = r.namespace
        name = r.name
        topic = TopicName.of(prefix: prefix, schema: r.namespace, table: r.name)
        qualifiedName = QualifiedName(schema: r.namespace, name: r.name).description
        var names = JSONText(capacity: 64)
        names.key("schema"); names.string(r.namespace); names.raw(","); names.key("table"); names.string(r.name)
        sourceNames = names.bytes
        columns = r.columns.map { ($0.name, $0.typeOID) }
        columnNames = r.columns.map(\.name)
        columnKeys = r.columns.map { c in var k = JSONText(capacity: c.name.utf8.count + 3); k.key(c.name); return k.bytes }
        dataCollection = "\(r.namespace).\(r.name)"
        let byName = Dictionary(definition?.columns.map { ($0.name, $0) } ?? [], uniquingKeysWith: { a, _ in a })
        codecs = r.columns.map {
            ColumnCodec.resolve(typeOID: $0.typeOID, typmod: $0.typmod, typeName: byName[$0.name]?.type, definition: definition, settings: settings.codecSettings)
        }
        optional = r.columns.map { !(byName[$0.name]?.notNull ?? false) }
        let codecList = codecs
        defaults = r.columns.enumerated().map { i, c in byName[c.name].flatMap { ColumnDefault.json($0, codec: codecList[i]) } }
        keyColumns = definition?.foldKey ?? (r.replicaIdentity == UInt8(ascii: "f") ? [] : r.columns.filter(\.isKey).map(\.name))
        if keyColumns.isEmpty, definition == nil, r.replicaIdentity != UInt8(ascii: "f") { keyColumns = r.columns.filter(\.isKey).map(\.name) }
        keyPositions = []
        if settings.format == .jsonSchema {
            let defaultList = defaults, optionalList = optional
            placeholders = codecList.indices.map { i in optionalList[i] ? nil : defaultList[i] ?? codecList[i].fallback }
        }
        computeKey(prefix: prefix, settings: settings)
    }

    mutating func computeKey(prefix: String, settings: EventSettings) {
        let keys = keyColumns
        keyPositions = keys.isEmpty ? Array(columns.indices) : keys.compactMap { k in columns.firstIndex { $0.name == k } }
        nullKey = keys.isEmpty && settings.nullKeyWithoutKey
        guard settings.format == .jsonSchema else { return }
        keySchema = DebeziumSchema.key(self, prefix: prefix)
        envelopeSchema = DebeziumSchema.envelope(self, prefix: prefix)
    }

}

/// Where a change sits in the stream, as Debezium's `source` block tells it.
public struct SourcePosition: Sendable {
    public var commitLSN: LSN
    public var endLSN: LSN
    public var xid: UInt32?
    public var commitTime: PGTimestamp
    /// Position of the change within its transaction (1-based).
    public var index: Int
    /// The change's own WAL position (archives written before it was recorded: nil, the commit LSN is used).
    public var changeLSN: LSN?
    /// The commit LSN of the transaction before this one in the stream (Debezium's `sequence[0]`).
    public var lastCommitLSN: LSN?
    /// `false`, or for base-copy rows `true` / `last`.
    public var snapshot = "false"
    /// `transaction` block: (id, total_order, data_collection_order), with `--kafka-transaction-metadata`.
    public var transaction: (id: String, total: Int, collection: Int)?

    public init(commitLSN: LSN, endLSN: LSN, xid: UInt32?, commitTime: PGTimestamp, index: Int) {
        self.commitLSN = commitLSN; self.endLSN = endLSN; self.xid = xid; self.commitTime = commitTime; self.index = index
    }

    /// Debezium's transaction id: `txId:commitLSN`.
    static func transactionID(xid: UInt32, commitLSN: LSN) -> String { "\(xid):\(commitLSN.rawValue)" }
}

/// Debezium's change-event envelope, so that Debezium consumers, Kafka Connect sinks and ksqlDB read
/// the topics with the converter settings they already use:
/// `{"before":…,"after":…,"source":{…},"transaction":…,"op":"c|u|d|t|r|m","ts_ms":…}`, and with
/// `json-schema` the same payload inside `{"schema":…,"payload":…}`. Values follow Debezium's
/// PostgreSQL mapping (see docs/fan-out.md).
public struct DebeziumEnvelope {
    public static let connectorVersion = "logbook-1"
    let settings: EventSettings
    let database: String
    let prefix: String
    /// Values whose text no codec could read (written as null).
    var unreadable = 0
    var unreadableColumns = Set<String>()

    /// The parts of the source block every event shares.
    let sourceHead: [UInt8]
    let sourceDatabase: [UInt8]

    init(settings: EventSettings, database: String, prefix: String) {
        self.settings = settings; self.database = database; self.prefix = prefix
        var h = JSONText(capacity: 96)
        h.raw("{\"version\":\"\(Self.connectorVersion)\",\"connector\":\"postgresql\",")
        h.key("name"); h.string(prefix)
        h.raw(",\"ts_ms\":")
        sourceHead = h.bytes
        var d = JSONText(capacity: 64)
        d.raw("\","); d.key("db"); d.string(database)
        sourceDatabase = d.bytes
    }

    /// A row as JSON, columns mapped by type. `values` are in `table.columns` order.
    mutating func row(_ values: [TupleValue], _ table: PublishedTable, positions: [Int]? = nil, into j: inout JSONText) {
        j.raw("{")
        if let positions {
            for (n, i) in positions.enumerated() { column(i, first: n == 0, values, table, into: &j) }
        } else {
            for i in table.columns.indices { column(i, first: i == 0, values, table, into: &j) }
        }
        j.raw("}")
    }

    mutating func column(_ i: Int, first: Bool, _ values: [TupleValue], _ table: PublishedTable, into j: inout JSONText) {
        if !first { j.bytes.append(0x2C) }
        j.bytes += table.columnKeys[i]
        switch i < values.count ? values[i] : .null {
        case .null, .unchanged:
            if i < table.placeholders.count, let p = table.placeholders[i] { j.bytes += p } else { j.raw("null") }
        case .binary(let b): j.string(Array(Data(b).base64EncodedString().utf8))
        case .text(let t):
            if !table.codecs[i].value(t, into: &j) {
                unreadable += 1
                unreadableColumns.insert("\(table.qualifiedName).\(table.columns[i].name)")
            }
        }
    }

    /// With `json-schema`, `{"schema":…,"payload":` before the payload and `}` after it.
    func open(_ schema: [UInt8], _ j: inout JSONText) {
        guard settings.format == .jsonSchema else { return }
        j.raw("{\"schema\":"); j.bytes += schema; j.raw(",\"payload\":")
    }
    func close(_ j: inout JSONText) { if settings.format == .jsonSchema { j.raw("}") } }

    /// The message key: the key columns; for a table without one, null under `json-schema` (as
    /// Debezium), the whole row under `json`.
    mutating func key(_ values: [TupleValue], _ table: PublishedTable) -> [UInt8]? {
        if table.nullKey { return nil }
        var j = JSONText(capacity: 64)
        open(table.keySchema, &j)
        row(values, table, positions: table.keyPositions, into: &j)
        close(&j)
        return j.bytes
    }

    func source(_ p: SourcePosition, table: PublishedTable?, into j: inout JSONText) {
        let micros = p.commitTime.unixMicroseconds
        let lsn = (p.changeLSN ?? p.commitLSN).rawValue
        j.bytes += sourceHead
        j.int(micros / 1000)
        j.raw(",\"snapshot\":\"")
        j.raw(p.snapshot)
        j.bytes += sourceDatabase
        if p.snapshot == "false" {
            j.raw(",\"sequence\":\"[")
            if let last = p.lastCommitLSN { j.raw("\\\""); j.int(last.rawValue); j.raw("\\\"") } else { j.raw("null") }
            j.raw(",\\\""); j.int(lsn); j.raw("\\\"]\"")
        } else {
            j.raw(",\"sequence\":null")
        }
        j.raw(",\"ts_us\":"); j.int(micros)
        j.raw(",\"ts_ns\":"); j.int(micros * 1000)
        j.raw(",")
        if let table { j.bytes += table.sourceNames } else { j.raw("\"schema\":\"\",\"table\":\"\"") }
        j.raw(",\"txId\":")
        if let x = p.xid { j.int(x) } else { j.raw("null") }
        j.raw(",\"lsn\":"); j.int(lsn)
        j.raw(",\"xmin\":null,\"commit_lsn\":"); j.lsn(p.commitLSN.rawValue)
        j.raw(",\"end_lsn\":"); j.lsn(p.endLSN.rawValue)
        j.raw("}")
    }

    func transaction(_ p: SourcePosition, into j: inout JSONText) {
        guard let t = p.transaction else { j.raw("null"); return }
        j.raw("{"); j.key("id"); j.string(t.id); j.raw(",\"total_order\":\(t.total),\"data_collection_order\":\(t.collection)}")
    }

    /// The envelope of a row change (`c`, `u`, `d`), a base-copy row (`r`) or a truncate (`t`, no rows).
    mutating func change(op: Character, before: [TupleValue]?, after: [TupleValue]?, table: PublishedTable,
                         position: SourcePosition, now: Int64) -> [UInt8] {
        var j = JSONText()
        open(table.envelopeSchema, &j)
        j.raw("{\"before\":")
        if let before { row(before, table, into: &j) } else { j.raw("null") }
        j.raw(",\"after\":")
        if let after { row(after, table, into: &j) } else { j.raw("null") }
        j.raw(",\"source\":")
        source(position, table: table, into: &j)
        j.raw(",\"transaction\":")
        transaction(position, into: &j)
        j.raw(",\"op\":\"")
        j.bytes.append(op.asciiValue ?? 0x3F)
        j.raw("\",\"ts_ms\":"); j.int(now)
        j.raw(",\"ts_us\":"); j.int(now * 1000)
        j.raw(",\"ts_ns\":"); j.int(now * 1_000_000)
        j.raw("}")
        close(&j)
        return j.bytes
    }

    /// A logical message (`m`), as Debezium's message events: prefix and base64 content.
    func message(prefix messagePrefix: String, content: [UInt8], position: SourcePosition, now: Int64) -> (key: [UInt8], value: [UInt8]) {
        var k = JSONText(capacity: 64)
        var j = JSONText()
        open(DebeziumSchema.messageKey, &k)
        open(DebeziumSchema.messageValue, &j)
        k.raw("{"); k.key("prefix"); k.string(messagePrefix); k.raw("}")
        j.raw("{\"op\":\"m\",\"ts_ms\":\(now),\"source\":")
        source(position, table: nil, into: &j)
        j.raw(",\"message\":{")
        j.key("prefix"); j.string(messagePrefix)
        j.raw(",")
        j.key("content"); j.string(Array(Data(content).base64EncodedString().utf8))
        j.raw("}}")
        close(&k)
        close(&j)
        return (k.bytes, j.bytes)
    }

    /// A BEGIN or END event on `PREFIX.transaction` (Debezium's transaction metadata).
    func transactionEvent(begin: Bool, id: String, commitTime: PGTimestamp, counts: [(String, Int)]) -> (key: [UInt8], value: [UInt8]) {
        var k = JSONText(capacity: 64)
        var j = JSONText()
        open(DebeziumSchema.transactionKey, &k)
        open(DebeziumSchema.transactionValue, &j)
        k.raw("{"); k.key("id"); k.string(id); k.raw("}")
        j.raw("{\"status\":\"\(begin ? "BEGIN" : "END")\",")
        j.key("id"); j.string(id)
        if begin {
            j.raw(",\"event_count\":null,\"data_collections\":null")
        } else {
            j.raw(",\"event_count\":\(counts.reduce(0) { $0 + $1.1 }),\"data_collections\":[")
            for (i, c) in counts.enumerated() {
                if i > 0 { j.raw(",") }
                j.raw("{"); j.key("data_collection"); j.string(c.0); j.raw(",\"event_count\":\(c.1)}")
            }
            j.raw("]")
        }
        j.raw(",\"ts_ms\":\(commitTime.unixMicroseconds / 1000)}")
        close(&k)
        close(&j)
        return (k.bytes, j.bytes)
    }
}
