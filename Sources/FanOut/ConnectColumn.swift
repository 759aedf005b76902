import Archive
import Foundation
import PGWire

/// How numerics are written (Debezium's `decimal.handling.mode`).
public enum DecimalHandling: String, Sendable, CaseIterable {
    /// Kafka Connect's `Decimal` (unscaled bytes, scale as a parameter); `numeric` without a scale as
    /// `io.debezium.data.VariableScaleDecimal`. NaN and infinities cannot be written: null, counted.
    case precise
    /// The number as text, exactly (`"12.50"`, `"NaN"`).
    case string
    /// A float64 (may round).
    case double
}

/// How times and timestamps without a zone are written (Debezium's `time.precision.mode`).
public enum TimePrecision: String, Sendable, CaseIterable {
    /// By the column's precision: `timestamp(0…3)` as `io.debezium.time.Timestamp` (ms), else
    /// `MicroTimestamp` (µs); `time(0…3)` as `Time` (ms), else `MicroTime` (µs).
    case adaptive
    /// Kafka Connect's own `Date`, `Time` and `Timestamp` (ms): what Connect sinks understand without
    /// Debezium's classes on their path (sub-millisecond digits are dropped).
    case connect
}

/// One column as Debezium's PostgreSQL connector maps it: its Kafka Connect schema and how its
/// text value is written. Resolved once per Relation message, from the type OID for built-in types
/// and from the table definition for enums, domains and arrays of them.
indirect enum ColumnCodec: Sendable {
    case boolean
    case integer(String)          // int16 / int32 / int64: the text is the number
    case float(String)            // float32 / float64
    case string(name: String?, parameters: [(String, String)])
    case date(connect: Bool)      // days since 1970 (int32)
    case timestamp(unitMicros: Int64, name: String)   // int64 in ms (1000) or µs (1)
    case time(unitMicros: Int64, name: String, type: String)
    case zonedTimestamp
    case zonedTime
    case interval
    case bytes
    case bit1
    case bits(length: Int)
    case decimalString
    case decimalDouble
    case decimalPrecise(scale: Int, precision: Int)
    case variableScaleDecimal
    case array(ColumnCodec)

    struct Settings: Sendable {
        var decimal: DecimalHandling = .string
        var time: TimePrecision = .adaptive
    }

    /// The codec of a column: `typeOID`/`typmod` from the Relation message; `column` and
    /// `definition` (when the archive has them) for user-defined types and nullability.
    static func resolve(typeOID: UInt32, typmod: Int32, typeName: String?, definition: TableDefinition?, settings: Settings) -> ColumnCodec {
        if let c = builtin(typeOID, typmod: typmod, settings) { return c }
        if let elem = arrayElements[typeOID] { return .array(builtin(elem, typmod: typmod, settings) ?? .string(name: nil, parameters: [])) }
        guard let typeName, let definition else { return .string(name: nil, parameters: []) }
        return byName(typeName, typmod: typmod, definition: definition, settings: settings)
    }

    /// A user-defined type (or a domain's base type) by the name `format_type` gives it.
    static func byName(_ raw: String, typmod: Int32, definition: TableDefinition, settings: Settings) -> ColumnCodec {
        var name = raw
        if name.hasSuffix("[]") {
            name.removeLast(2)
            return .array(byName(name, typmod: typmod, definition: definition, settings: settings))
        }
        func matches(_ schema: String, _ n: String) -> Bool {
            let q = QualifiedName(schema: schema, name: n)
            return [q.description, q.quoted, n, "\"\(n)\"", "\(schema).\(n)"].contains(name)
        }
        if let e = definition.enums.first(where: { matches($0.schema, $0.name) }) {
            return .string(name: "io.debezium.data.Enum", parameters: [("allowed", e.labels.joined(separator: ","))])
        }
        if let d = definition.domains?.first(where: { matches($0.schema, $0.name) }) {
            return byName(d.baseType, typmod: -1, definition: definition, settings: settings)
        }
        // A built-in type by its SQL name, with the modifiers format_type writes: `numeric(10,2)`, `timestamp(3) without time zone`.
        let base = name.replacingOccurrences(of: #"\([0-9, ]*\)"#, with: "", options: .regularExpression)
        let mods = name.range(of: #"\(([0-9, ]*)\)"#, options: .regularExpression).map { name[$0].dropFirst().dropLast().split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } } ?? []
        guard let oid = builtinNames[base] else { return .string(name: nil, parameters: []) }
        var mod: Int32 = -1
        switch oid {
        case 1700 where mods.count == 2: mod = Int32((mods[0] << 16) | mods[1]) + 4
        case 1700 where mods.count == 1: mod = Int32(mods[0] << 16) + 4
        case 1114, 1184, 1083, 1266, 1560, 1562: if let p = mods.first { mod = Int32(p) }
        default: break
        }
        return builtin(oid, typmod: mod, settings) ?? .string(name: nil, parameters: [])
    }

    static let builtinNames: [String: UInt32] = [
        "boolean": 16, "smallint": 21, "integer": 23, "bigint": 20, "oid": 26, "real": 700, "double precision": 701,
        "numeric": 1700, "text": 25, "character varying": 1043, "character": 1042, "name": 19, "uuid": 2950, "json": 114,
        "jsonb": 3802, "xml": 142, "date": 1082, "timestamp without time zone": 1114, "timestamp with time zone": 1184,
        "time without time zone": 1083, "time with time zone": 1266, "interval": 1186, "bytea": 17, "bit": 1560,
        "bit varying": 1562, "money": 790, "inet": 869, "cidr": 650, "macaddr": 829,
    ]

    /// Array type OID → element type OID, for the built-in types.
    static let arrayElements: [UInt32: UInt32] = [
        1000: 16, 1005: 21, 1007: 23, 1016: 20, 1028: 26, 1021: 700, 1022: 701, 1231: 1700, 1009: 25, 1015: 1043, 1014: 1042,
        2951: 2950, 199: 114, 3807: 3802, 1182: 1082, 1115: 1114, 1185: 1184, 1183: 1083, 1270: 1266, 1187: 1186, 1001: 17,
        1561: 1560, 1563: 1562, 1003: 19, 143: 142,
    ]

    static func builtin(_ oid: UInt32, typmod: Int32, _ s: Settings) -> ColumnCodec? {
        switch oid {
        case 16: return .boolean
        case 21: return .integer("int16")
        case 23: return .integer("int32")
        case 20, 26: return .integer("int64")
        case 700: return .float("float32")
        case 701: return .float("float64")
        case 1700, 790:
            switch s.decimal {
            case .string: return .decimalString
            case .double: return .decimalDouble
            case .precise:
                if oid == 790 { return .decimalPrecise(scale: 2, precision: 0) }
                guard typmod >= 4 else { return .variableScaleDecimal }
                let m = Int(typmod) - 4
                return .decimalPrecise(scale: m & 0xFFFF, precision: m >> 16)
            }
        case 25, 1043, 1042, 19, 869, 650, 829, 774: return .string(name: nil, parameters: [])
        case 2950: return .string(name: "io.debezium.data.Uuid", parameters: [])
        case 114, 3802: return .string(name: "io.debezium.data.Json", parameters: [])
        case 142: return .string(name: "io.debezium.data.Xml", parameters: [])
        case 1082: return .date(connect: s.time == .connect)
        case 1114:
            if s.time == .connect { return .timestamp(unitMicros: 1000, name: "org.apache.kafka.connect.data.Timestamp") }
            return typmod >= 0 && typmod <= 3 ? .timestamp(unitMicros: 1000, name: "io.debezium.time.Timestamp")
                : .timestamp(unitMicros: 1, name: "io.debezium.time.MicroTimestamp")
        case 1184: return .zonedTimestamp
        case 1083:
            if s.time == .connect { return .time(unitMicros: 1000, name: "org.apache.kafka.connect.data.Time", type: "int32") }
            return typmod >= 0 && typmod <= 3 ? .time(unitMicros: 1000, name: "io.debezium.time.Time", type: "int32")
                : .time(unitMicros: 1, name: "io.debezium.time.MicroTime", type: "int64")
        case 1266: return .zonedTime
        case 1186: return .interval
        case 17: return .bytes
        case 1560: return typmod == 1 ? .bit1 : .bits(length: Int(max(typmod, 1)))
        case 1562: return .bits(length: typmod > 0 ? Int(typmod) : Int(Int32.max))
        default: return nil
        }
    }

    // MARK: Schema

    /// The field's Kafka Connect schema (`{"type":…,"optional":…,"name":…,"field":…}`).
    func schema(field: String?, optional: Bool, into j: inout JSONText) {
        j.raw("{")
        switch self {
        case .boolean, .bit1: j.raw("\"type\":\"boolean\"")
        case .integer(let t), .float(let t): j.raw("\"type\":\"\(t)\"")
        case .string(let name, let params):
            j.raw("\"type\":\"string\"")
            if let name { j.raw(",\"name\":\"\(name)\",\"version\":1") }
            if !params.isEmpty {
                j.raw(",\"parameters\":{")
                for (i, p) in params.enumerated() { if i > 0 { j.raw(",") }; j.key(p.0); j.string(p.1) }
                j.raw("}")
            }
        case .date(let connect):
            j.raw(connect ? "\"type\":\"int32\",\"name\":\"org.apache.kafka.connect.data.Date\",\"version\":1"
                          : "\"type\":\"int32\",\"name\":\"io.debezium.time.Date\",\"version\":1")
        case .timestamp(_, let name): j.raw("\"type\":\"int64\",\"name\":\"\(name)\",\"version\":1")
        case .time(_, let name, let type): j.raw("\"type\":\"\(type)\",\"name\":\"\(name)\",\"version\":1")
        case .zonedTimestamp: j.raw("\"type\":\"string\",\"name\":\"io.debezium.time.ZonedTimestamp\",\"version\":1")
        case .zonedTime: j.raw("\"type\":\"string\",\"name\":\"io.debezium.time.ZonedTime\",\"version\":1")
        case .interval: j.raw("\"type\":\"int64\",\"name\":\"io.debezium.time.MicroDuration\",\"version\":1")
        case .bytes: j.raw("\"type\":\"bytes\"")
        case .bits(let length): j.raw("\"type\":\"bytes\",\"name\":\"io.debezium.data.Bits\",\"version\":1,\"parameters\":{\"length\":\"\(length)\"}")
        case .decimalString: j.raw("\"type\":\"string\"")
        case .decimalDouble: j.raw("\"type\":\"float64\"")
        case .decimalPrecise(let scale, let precision):
            j.raw("\"type\":\"bytes\",\"name\":\"org.apache.kafka.connect.data.Decimal\",\"version\":1,\"parameters\":{\"scale\":\"\(scale)\"")
            if precision > 0 { j.raw(",\"connect.decimal.precision\":\"\(precision)\"") }
            j.raw("}")
        case .variableScaleDecimal:
            j.raw("\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"scale\"},{\"type\":\"bytes\",\"optional\":false,\"field\":\"value\"}],\"name\":\"io.debezium.data.VariableScaleDecimal\",\"version\":1,\"doc\":\"Variable scaled decimal\"")
        case .array(let element):
            j.raw("\"type\":\"array\",\"items\":")
            element.schema(field: nil, optional: true, into: &j)
        }
        j.raw(",\"optional\":\(optional)")
        if let field { j.raw(","); j.key("field"); j.string(field) }
        j.raw("}")
    }

    // MARK: Values

    /// Writes the value of a column's text. Returns false when the text is not a form this codec
    /// reads (the value is then written as null, and the caller counts it).
    @discardableResult
    func value(_ t: [UInt8], into j: inout JSONText) -> Bool {
        switch self {
        case .boolean: j.raw(t.first == UInt8(ascii: "t") ? "true" : "false")
        case .bit1: j.raw(t.first == UInt8(ascii: "1") ? "true" : "false")
        case .integer: j.bytes += t
        case .float:
            if t.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D || $0 == 0x65 || $0 == 0x45 || $0 == 0x2B }) { j.bytes += t } else { j.string(t) }
        case .string, .decimalString: j.string(t)
        case .date:
            guard let d = TextForms.days(t) else { j.raw("null"); return false }
            j.raw(String(d))
        case .timestamp(let unit, _):
            guard let us = TextForms.micros(t) else { j.raw("null"); return false }
            j.raw(String(us == .max || us == .min || unit == 1 ? us : (us >= 0 ? us / unit : (us - unit + 1) / unit)))
        case .time(let unit, _, _):
            guard let tod = TextForms.timeOfDay(t, at: 0), tod.end == t.count else { j.raw("null"); return false }
            j.raw(String(tod.micros / unit))
        case .zonedTimestamp:
            guard let z = TextForms.zonedTimestamp(t) else { j.raw("null"); return false }
            j.string(z)
        case .zonedTime:
            guard let z = TextForms.zonedTime(t) else { j.raw("null"); return false }
            j.string(z)
        case .interval:
            guard let us = TextForms.intervalMicros(t) else { j.raw("null"); return false }
            j.raw(String(us))
        case .bytes:
            guard let b = TextForms.hexBytes(t) else { j.raw("null"); return false }
            j.string(Array(Data(b).base64EncodedString().utf8))
        case .bits(let length):
            guard let b = TextForms.bits(t, length: length == Int(Int32.max) ? t.count : length) else { j.raw("null"); return false }
            j.string(Array(Data(b).base64EncodedString().utf8))
        case .decimalDouble:
            if let d = Double(String(decoding: t, as: UTF8.self)), d.isFinite { j.raw("\(d)") } else { j.string(t) }
        case .decimalPrecise(let scale, _):
            guard let d = TextForms.decimal(t, scale: scale) else { j.raw("null"); return false }
            j.string(Array(Data(d.bytes).base64EncodedString().utf8))
        case .variableScaleDecimal:
            guard let d = TextForms.decimal(t, scale: nil) else { j.raw("null"); return false }
            j.raw("{\"scale\":\(d.scale),\"value\":")
            j.string(Array(Data(d.bytes).base64EncodedString().utf8))
            j.raw("}")
        case .array(let element):
            guard let items = TextForms.arrayElements(t) else { j.raw("null"); return false }
            j.raw("[")
            var ok = true
            for (i, item) in items.enumerated() {
                if i > 0 { j.raw(",") }
                if let item { ok = element.value(item, into: &j) && ok } else { j.raw("null") }
            }
            j.raw("]")
            return ok
        }
        return true
    }
}
