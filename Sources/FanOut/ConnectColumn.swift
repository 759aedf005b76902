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

/// How `hstore` columns are written (Debezium's `hstore.handling.mode`).
public enum HstoreHandling: String, Sendable, CaseIterable {
    /// A JSON object as text, `{"key":"val"}`, named `io.debezium.data.Json`.
    case json
    /// A Connect `map` of string to optional string.
    case map
}

/// How `interval` columns are written (Debezium's `interval.handling.mode`).
public enum IntervalHandling: String, Sendable, CaseIterable {
    /// µs, a month as 365.25 / 12 days (`io.debezium.time.MicroDuration`).
    case numeric
    /// ISO 8601, `P1Y2M3DT4H5M6.78S` (`io.debezium.time.Interval`).
    case string
}

/// How `bytea` (and unknown binary) values are written (Debezium's `binary.handling.mode`).
public enum BinaryHandling: String, Sendable, CaseIterable {
    /// Connect `bytes` (base64 in JSON).
    case bytes
    /// A string, base64.
    case base64
    /// A string, base64 with the URL-safe alphabet (`-`, `_`), padded as Java's URL encoder pads.
    case base64UrlSafe = "base64-url-safe"
    /// A string, lower-case hex.
    case hex
}

/// One column as Debezium's PostgreSQL connector maps it: its Kafka Connect schema and how its
/// text value is written. Resolved once per Relation message, from the type OID for built-in types
/// and from the table definition for enums, domains, extension types and arrays of them.
indirect enum ColumnCodec: Sendable {
    case boolean
    case integer(String)          // int16 / int32 / int64: the text is the number
    case float(String)            // Connect's "float" (float32) / "double" (float64), as JsonConverter names them
    case string(name: String?, parameters: [(String, String)])
    case date(connect: Bool)      // days since 1970 (int32)
    case timestamp(unitMicros: Int64, name: String)   // int64 in ms (1000) or µs (1)
    case time(unitMicros: Int64, name: String, type: String)
    /// ISO 8601 in UTC; `fraction` digits exactly (the column's precision), 0: as few as needed.
    case zonedTimestamp(fraction: Int)
    case zonedTime
    case interval
    case intervalString
    case bytes(BinaryHandling)
    case bit1
    case bits(length: Int)
    case decimalString
    case decimalDouble
    case decimalPrecise(scale: Int, precision: Int)
    case variableScaleDecimal
    /// `money`: its locale's text (`$1,234.11`, `($1,234.11)`) read as a plain number, then as `inner`.
    case money(ColumnCodec)
    case hstoreJSON
    case hstoreMap
    case point
    case array(ColumnCodec, elementOptional: Bool)

    struct Settings: Sendable {
        var decimal: DecimalHandling = .precise
        var time: TimePrecision = .adaptive
        var hstore: HstoreHandling = .json
        var interval: IntervalHandling = .numeric
        var binary: BinaryHandling = .bytes
    }

    /// The codec of a column: `typeOID`/`typmod` from the Relation message; `column` and
    /// `definition` (when the archive has them) for user-defined types and nullability.
    static func resolve(typeOID: UInt32, typmod: Int32, typeName: String?, definition: TableDefinition?, settings: Settings) -> ColumnCodec {
        if let c = builtin(typeOID, typmod: typmod, settings) { return c }
        if let elem = arrayElements[typeOID] {
            return .array(builtin(elem, typmod: typmod, settings) ?? .string(name: nil, parameters: []), elementOptional: true)
        }
        guard let typeName else { return .string(name: nil, parameters: []) }
        return byName(typeName, typmod: typmod, definition: definition, settings: settings)
    }

    /// A user-defined type (or a domain's base type) by the name `format_type` gives it.
    static func byName(_ raw: String, typmod: Int32, definition: TableDefinition?, settings: Settings) -> ColumnCodec {
        var name = raw
        if name.hasSuffix("[]") {
            name.removeLast(2)
            let element = byName(name, typmod: typmod, definition: definition, settings: settings)
            // Debezium's enum arrays have required elements; every other array's elements are optional.
            if case .string(let n, _) = element, n == "io.debezium.data.Enum" { return .array(element, elementOptional: false) }
            return .array(element, elementOptional: true)
        }
        func matches(_ schema: String, _ n: String) -> Bool {
            let q = QualifiedName(schema: schema, name: n)
            return [q.description, q.quoted, n, "\"\(n)\"", "\(schema).\(n)"].contains(name)
        }
        if let e = definition?.enums.first(where: { matches($0.schema, $0.name) }) {
            return .string(name: "io.debezium.data.Enum", parameters: [("allowed", e.labels.joined(separator: ","))])
        }
        if let d = definition?.domains?.first(where: { matches($0.schema, $0.name) }) {
            return byName(d.baseType, typmod: -1, definition: definition, settings: settings)
        }
        // Extension types, by their name with or without the schema they were created in.
        switch name.split(separator: ".").last.map(String.init) ?? name {
        case "hstore": return settings.hstore == .json ? .hstoreJSON : .hstoreMap
        case "ltree": return .string(name: "io.debezium.data.Ltree", parameters: [])
        default: break
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
        "bit varying": 1562, "money": 790, "inet": 869, "cidr": 650, "macaddr": 829, "point": 600, "tsvector": 3614,
    ]

    /// Array type OID → element type OID, for the built-in types.
    static let arrayElements: [UInt32: UInt32] = [
        1000: 16, 1005: 21, 1007: 23, 1016: 20, 1028: 26, 1021: 700, 1022: 701, 1231: 1700, 1009: 25, 1015: 1043, 1014: 1042,
        2951: 2950, 199: 114, 3807: 3802, 1182: 1082, 1115: 1114, 1185: 1184, 1183: 1083, 1270: 1266, 1187: 1186, 1001: 17,
        1561: 1560, 1563: 1562, 1003: 19, 143: 142, 791: 790, 1017: 600, 3643: 3614,
    ]

    static func builtin(_ oid: UInt32, typmod: Int32, _ s: Settings) -> ColumnCodec? {
        switch oid {
        case 16: return .boolean
        case 21: return .integer("int16")
        case 23: return .integer("int32")
        case 20, 26: return .integer("int64")
        case 700: return .float("float")
        case 701: return .float("double")
        case 790:
            // Debezium: Decimal with scale 2 and no precision parameter.
            switch s.decimal {
            case .string: return .money(.decimalString)
            case .double: return .money(.decimalDouble)
            case .precise: return .money(.decimalPrecise(scale: 2, precision: 0))
            }
        case 1700:
            switch s.decimal {
            case .string: return .decimalString
            case .double: return .decimalDouble
            case .precise:
                guard typmod >= 4 else { return .variableScaleDecimal }
                let m = Int(typmod) - 4
                return .decimalPrecise(scale: m & 0xFFFF, precision: m >> 16)
            }
        case 25, 1043, 1042, 19, 869, 650, 829, 774: return .string(name: nil, parameters: [])
        case 2950: return .string(name: "io.debezium.data.Uuid", parameters: [])
        case 114, 3802: return .string(name: "io.debezium.data.Json", parameters: [])
        case 142: return .string(name: "io.debezium.data.Xml", parameters: [])
        case 3614: return .string(name: "io.debezium.data.Tsvector", parameters: [])
        case 600: return .point
        case 1082: return .date(connect: s.time == .connect)
        case 1114:
            if s.time == .connect { return .timestamp(unitMicros: 1000, name: "org.apache.kafka.connect.data.Timestamp") }
            return typmod >= 0 && typmod <= 3 ? .timestamp(unitMicros: 1000, name: "io.debezium.time.Timestamp")
                : .timestamp(unitMicros: 1, name: "io.debezium.time.MicroTimestamp")
        // Debezium pads the fraction to the column's precision (6 unless declared), none for precision 0.
        case 1184: return .zonedTimestamp(fraction: typmod < 0 ? 6 : Int(typmod))
        case 1083:
            if s.time == .connect { return .time(unitMicros: 1000, name: "org.apache.kafka.connect.data.Time", type: "int32") }
            return typmod >= 0 && typmod <= 3 ? .time(unitMicros: 1000, name: "io.debezium.time.Time", type: "int32")
                : .time(unitMicros: 1, name: "io.debezium.time.MicroTime", type: "int64")
        case 1266: return .zonedTime
        case 1186: return s.interval == .numeric ? .interval : .intervalString
        case 17: return .bytes(s.binary)
        case 1560: return typmod == 1 ? .bit1 : .bits(length: Int(max(typmod, 1)))
        // varbit(1) is a boolean, as bit(1) (Debezium's PostgresValueConverter).
        case 1562: return typmod == 1 ? .bit1 : .bits(length: typmod > 0 ? Int(typmod) : Int(Int32.max))
        default: return nil
        }
    }

    /// Whether the codec is a struct (Connect cannot carry a struct default: Debezium leaves it out).
    var isStruct: Bool {
        switch self {
        case .variableScaleDecimal, .point: return true
        case .money(let inner): return inner.isStruct
        default: return false
        }
    }

    // MARK: Schema

    /// The field's Kafka Connect schema (`{"type":…,"optional":…,"name":…,"default":…,"field":…}`).
    func schema(field: String?, optional: Bool, default value: [UInt8]? = nil, into j: inout JSONText) {
        j.raw("{")
        body(into: &j)
        j.raw(",\"optional\":\(optional)")
        if let value { j.raw(",\"default\":"); j.bytes += value }
        if let field { j.raw(","); j.key("field"); j.string(field) }
        j.raw("}")
    }

    /// The schema's type, name, version, parameters (without `optional`, `default`, `field`).
    func body(into j: inout JSONText) {
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
        case .intervalString: j.raw("\"type\":\"string\",\"name\":\"io.debezium.time.Interval\",\"version\":1")
        case .bytes(let mode): j.raw(mode == .bytes ? "\"type\":\"bytes\"" : "\"type\":\"string\"")
        case .bits(let length): j.raw("\"type\":\"bytes\",\"name\":\"io.debezium.data.Bits\",\"version\":1,\"parameters\":{\"length\":\"\(length)\"}")
        case .decimalString: j.raw("\"type\":\"string\"")
        case .decimalDouble: j.raw("\"type\":\"double\"")
        case .decimalPrecise(let scale, let precision):
            j.raw("\"type\":\"bytes\",\"name\":\"org.apache.kafka.connect.data.Decimal\",\"version\":1,\"parameters\":{\"scale\":\"\(scale)\"")
            if precision > 0 { j.raw(",\"connect.decimal.precision\":\"\(precision)\"") }
            j.raw("}")
        case .variableScaleDecimal:
            j.raw("\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"scale\"},{\"type\":\"bytes\",\"optional\":false,\"field\":\"value\"}],\"name\":\"io.debezium.data.VariableScaleDecimal\",\"version\":1,\"doc\":\"Variable scaled decimal\"")
        case .money(let inner): inner.body(into: &j)
        case .hstoreJSON: j.raw("\"type\":\"string\",\"name\":\"io.debezium.data.Json\",\"version\":1")
        case .hstoreMap: j.raw("\"type\":\"map\",\"keys\":{\"type\":\"string\",\"optional\":false},\"values\":{\"type\":\"string\",\"optional\":true}")
        case .point:
            j.raw("\"type\":\"struct\",\"fields\":[{\"type\":\"double\",\"optional\":false,\"field\":\"x\"},{\"type\":\"double\",\"optional\":false,\"field\":\"y\"},"
                  + "{\"type\":\"bytes\",\"optional\":true,\"field\":\"wkb\"},{\"type\":\"int32\",\"optional\":true,\"field\":\"srid\"}],"
                  + "\"name\":\"io.debezium.data.geometry.Point\",\"version\":1,\"doc\":\"Geometry (POINT)\"")
        case .array(let element, let elementOptional):
            j.raw("\"type\":\"array\",\"items\":")
            element.schema(field: nil, optional: elementOptional, into: &j)
        }
    }

    // MARK: Values

    /// Writes the value of a column's text. Returns false when the text is not a form this codec
    /// reads (the value is then written as null, and the caller counts it).
    @discardableResult
    func value(_ t: [UInt8], into j: inout JSONText) -> Bool {
        switch self {
        case .boolean: j.raw(t.first == UInt8(ascii: "t") ? "true" : "false")
        case .bit1: j.raw(t.contains(UInt8(ascii: "1")) ? "true" : "false")
        case .integer: j.bytes += t
        case .float:
            // NaN and the infinities as JsonConverter's Jackson writes them: quoted.
            if t.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D || $0 == 0x65 || $0 == 0x45 || $0 == 0x2B }) { j.bytes += t } else { j.string(t) }
        case .string: j.string(t)
        case .decimalString:
            // NaN and the infinities as Debezium's SpecialValueDecimal names them.
            if t.elementsEqual("NaN".utf8) { j.raw("\"NAN\"") } else if t.elementsEqual("Infinity".utf8) { j.raw("\"POSITIVE_INFINITY\"") }
            else if t.elementsEqual("-Infinity".utf8) { j.raw("\"NEGATIVE_INFINITY\"") } else { j.string(t) }
        case .date:
            // ±infinity: the int32 limits (a NOT NULL column keeps a value a sink accepts).
            if t.elementsEqual("infinity".utf8) { j.raw("2147483647"); return true }
            if t.elementsEqual("-infinity".utf8) { j.raw("-2147483648"); return true }
            guard let d = TextForms.days(t) else { j.raw("null"); return false }
            j.raw(String(d))
        case .timestamp(let unit, _):
            guard let us = TextForms.micros(t) else { j.raw("null"); return false }
            // ±infinity: what the PostgreSQL JDBC driver gives Debezium (PGStatement.DATE_POSITIVE/NEGATIVE_INFINITY).
            if us == .max { j.raw("9223372036825200000"); return true }
            if us == .min { j.raw("-9223372036832400000"); return true }
            j.raw(String(unit == 1 ? us : (us >= 0 ? us / unit : (us - unit + 1) / unit)))
        case .time(let unit, _, _):
            guard let tod = TextForms.timeOfDay(t, at: 0), tod.end == t.count else { j.raw("null"); return false }
            j.raw(String(tod.micros / unit))
        case .zonedTimestamp(let fraction):
            guard let z = TextForms.zonedTimestamp(t, fraction: fraction) else { j.raw("null"); return false }
            j.string(z)
        case .zonedTime:
            guard let z = TextForms.zonedTime(t) else { j.raw("null"); return false }
            j.string(z)
        case .interval:
            guard let us = TextForms.intervalMicros(t) else { j.raw("null"); return false }
            j.raw(String(us))
        case .intervalString:
            guard let iso = TextForms.intervalISO(t) else { j.raw("null"); return false }
            j.string(iso)
        case .bytes(let mode):
            guard let b = TextForms.hexBytes(t) else { j.raw("null"); return false }
            switch mode {
            case .hex: j.string(Array(t.dropFirst(2)).map { $0 >= 0x41 && $0 <= 0x46 ? $0 + 0x20 : $0 })
            case .base64UrlSafe: j.string(Array(Data(b).base64EncodedString().utf8).map { $0 == 0x2B ? 0x2D : $0 == 0x2F ? 0x5F : $0 })
            case .bytes, .base64: j.string(Array(Data(b).base64EncodedString().utf8))
            }
        case .bits:
            guard let b = TextForms.bits(t) else { j.raw("null"); return false }
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
        case .money(let inner):
            guard let plain = ValueForms.money(t) else { j.raw("null"); return false }
            return inner.value(plain, into: &j)
        case .hstoreJSON:
            guard let pairs = ValueForms.hstore(t) else { j.raw("null"); return false }
            var o = JSONText(capacity: t.count + 8)
            ValueForms.writeObject(pairs, into: &o)
            j.string(o.bytes)
        case .hstoreMap:
            guard let pairs = ValueForms.hstore(t) else { j.raw("null"); return false }
            ValueForms.writeObject(pairs, into: &j)
        case .point:
            guard let p = ValueForms.point(t) else { j.raw("null"); return false }
            j.raw("{\"x\":"); j.bytes += p.xText; j.raw(",\"y\":"); j.bytes += p.yText
            j.raw(",\"wkb\":"); j.string(Array(Data(ValueForms.wkbPoint(x: p.x, y: p.y)).base64EncodedString().utf8))
            j.raw(",\"srid\":null}")
        case .array(let element, _):
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
