import Foundation
import PGWire

/// A table as the publisher knows it: from its Relation message (column names and types) and its
/// table definition (the primary key).
public struct PublishedTable: Sendable {
    public var schema: String
    public var name: String
    public var columns: [(name: String, typeOID: UInt32)]
    public var keyColumns: [String]
    /// `PREFIX.SCHEMA.TABLE`.
    public var topic: String
}

/// Where a change sits in the stream.
public struct SourcePosition: Sendable {
    public var commitLSN: LSN
    public var endLSN: LSN
    public var xid: UInt32
    public var commitTime: PGTimestamp
    /// Position of the change within its transaction.
    public var index: Int
}

/// Debezium's change-event envelope (JSON converter, schemas disabled), so that Debezium
/// consumers, Kafka Connect sinks and ksqlDB read the topics unchanged:
/// `{"before":…,"after":…,"source":{…},"op":"c|u|d|t|m","ts_ms":…,"transaction":null}`.
/// Values follow Debezium's PostgreSQL mapping with `decimal.handling.mode=string` (see docs/fan-out.md).
public enum DebeziumEnvelope {
    public static let connectorVersion = "logbook-1"

    /// A row as JSON, columns mapped by type. `values` are in `table.columns` order.
    static func row(_ values: [TupleValue], _ table: PublishedTable, into j: inout JSONText) {
        j.raw("{")
        for (i, col) in table.columns.enumerated() {
            if i > 0 { j.raw(",") }
            j.key(col.name)
            value(i < values.count ? values[i] : .null, typeOID: col.typeOID, into: &j)
        }
        j.raw("}")
    }

    static func value(_ v: TupleValue, typeOID: UInt32, into j: inout JSONText) {
        switch v {
        case .null, .unchanged: j.raw("null")
        case .binary(let b): j.string(Data(b).base64EncodedString())
        case .text(let t):
            switch typeOID {
            case 16: j.raw(t.first == UInt8(ascii: "t") ? "true" : "false")
            case 20, 21, 23, 26: j.bytes += t
            case 700, 701:
                if t.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D || $0 == 0x65 || $0 == 0x45 || $0 == 0x2B }) { j.bytes += t } else { j.string(t) }
            case 1082: // date → days since 1970-01-01 (io.debezium.time.Date)
                if let d = Dates.days(t) { j.raw(String(d)) } else { j.string(t) }
            case 1114: // timestamp → µs since 1970 (io.debezium.time.MicroTimestamp)
                if let us = Dates.micros(t) { j.raw(String(us)) } else { j.string(t) }
            case 1184: // timestamptz → ISO 8601 string (io.debezium.time.ZonedTimestamp)
                j.string(Dates.isoZoned(t))
            case 17: // bytea, text form \x… → base64 (binary.handling.mode=bytes)
                j.string(Data(Dates.hexBytes(t)).base64EncodedString())
            default: j.string(t)
            }
        }
    }

    /// The message key: the primary key columns as JSON, or the whole row for a table without one.
    public static func key(_ values: [TupleValue], _ table: PublishedTable) -> [UInt8] {
        var j = JSONText(capacity: 64)
        j.raw("{")
        var first = true
        for (i, col) in table.columns.enumerated() where table.keyColumns.isEmpty || table.keyColumns.contains(col.name) {
            if !first { j.raw(",") }
            first = false
            j.key(col.name)
            value(i < values.count ? values[i] : .null, typeOID: col.typeOID, into: &j)
        }
        j.raw("}")
        return j.bytes
    }

    static func source(_ p: SourcePosition, table: PublishedTable?, database: String, prefix: String, into j: inout JSONText) {
        j.raw("{\"version\":\"\(connectorVersion)\",\"connector\":\"postgresql\",")
        j.key("name"); j.string(prefix)
        j.raw(",\"ts_ms\":\(p.commitTime.unixMicroseconds / 1000),\"snapshot\":\"false\",")
        j.key("db"); j.string(database)
        j.raw(",\"sequence\":\"[\\\"\(p.commitLSN.rawValue)\\\",\\\"\(p.index)\\\"]\",")
        j.key("schema"); j.string(table?.schema ?? "")
        j.raw(",")
        j.key("table"); j.string(table?.name ?? "")
        j.raw(",\"txId\":\(p.xid),\"lsn\":\(p.commitLSN.rawValue),\"xmin\":null,")
        j.key("commit_lsn"); j.string(p.commitLSN.description)
        j.raw(",")
        j.key("end_lsn"); j.string(p.endLSN.description)
        j.raw("}")
    }

    /// The envelope of a row change (`c`, `u`, `d`) or a truncate (`t`, no rows).
    public static func change(op: Character, before: [TupleValue]?, after: [TupleValue]?, table: PublishedTable,
                              position: SourcePosition, database: String, prefix: String, now: Int64) -> [UInt8] {
        var j = JSONText()
        j.raw("{\"before\":")
        if let before { row(before, table, into: &j) } else { j.raw("null") }
        j.raw(",\"after\":")
        if let after { row(after, table, into: &j) } else { j.raw("null") }
        j.raw(",\"source\":")
        source(position, table: table, database: database, prefix: prefix, into: &j)
        j.raw(",\"op\":\"\(op)\",\"ts_ms\":\(now),\"transaction\":null}")
        return j.bytes
    }

    /// A logical message (`m`), as Debezium's message events: prefix and base64 content.
    public static func message(prefix messagePrefix: String, content: [UInt8], transactional: Bool, position: SourcePosition,
                               database: String, prefix: String, now: Int64) -> [UInt8] {
        var j = JSONText()
        j.raw("{\"op\":\"m\",\"ts_ms\":\(now),\"source\":")
        source(position, table: nil, database: database, prefix: prefix, into: &j)
        j.raw(",\"message\":{")
        j.key("prefix"); j.string(messagePrefix)
        j.raw(",")
        j.key("content"); j.string(Data(content).base64EncodedString())
        j.raw(",\"transactional\":\(transactional)}}")
        return j.bytes
    }
}

/// Conversions of PostgreSQL's text forms (ISO DateStyle) to Debezium's numbers.
enum Dates {
    static func digits(_ t: [UInt8], _ from: Int, _ n: Int) -> Int? {
        guard from + n <= t.count else { return nil }
        var v = 0
        for i in from..<from + n {
            let c = t[i]
            guard c >= 0x30 && c <= 0x39 else { return nil }
            v = v * 10 + Int(c - 0x30)
        }
        return v
    }

    /// Days from 1970-01-01 (proleptic Gregorian), for `YYYY-MM-DD`.
    static func days(_ t: [UInt8]) -> Int? {
        guard t.count >= 10, let y = digits(t, 0, 4), let m = digits(t, 5, 2), let d = digits(t, 8, 2) else { return nil }
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// µs since 1970 for `YYYY-MM-DD HH:MM:SS[.ffffff]` (no zone).
    static func micros(_ t: [UInt8]) -> Int64? {
        guard let d = days(t), let h = digits(t, 11, 2), let mi = digits(t, 14, 2), let s = digits(t, 17, 2) else { return nil }
        var frac: Int64 = 0
        if t.count > 19, t[19] == 0x2E {
            var n = 0
            var i = 20
            while i < t.count, let dgt = digits(t, i, 1), n < 6 { frac = frac * 10 + Int64(dgt); n += 1; i += 1 }
            while n < 6 { frac *= 10; n += 1 }
        }
        return (Int64(d) * 86400 + Int64(h * 3600 + mi * 60 + s)) * 1_000_000 + frac
    }

    /// `2026-11-25 18:31:05.979026+00` → `2026-11-25T18:31:05.979026Z`, `…+05:30` kept, `…-05` → `…-05:00`.
    static func isoZoned(_ t: [UInt8]) -> [UInt8] {
        var out = t
        if out.count > 10, out[10] == 0x20 { out[10] = 0x54 } // ' ' → 'T'
        let n = out.count
        if n >= 3, out[n - 3] == 0x2B, out[n - 2] == 0x30, out[n - 1] == 0x30 { // "+00"
            out.removeLast(3)
            out.append(0x5A)
        } else if n >= 4, out[n - 3] == 0x2B || out[n - 3] == 0x2D, out[n - 4] != 0x3A, (0x30...0x39).contains(out[n - 1]) {
            out += [0x3A, 0x30, 0x30]
        }
        return out
    }

    /// `\x0a0b` → bytes.
    static func hexBytes(_ t: [UInt8]) -> [UInt8] {
        guard t.count >= 2, t[0] == 0x5C, t[1] == 0x78 else { return t }
        func nib(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10 }
        var out: [UInt8] = []
        var i = 2
        while i + 1 < t.count { out.append(nib(t[i]) << 4 | nib(t[i + 1])); i += 2 }
        return out
    }
}
