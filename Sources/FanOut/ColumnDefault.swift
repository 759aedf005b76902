import Archive
import Foundation

/// A column's `default` in its Connect schema, derived from its default expression as Debezium's
/// PostgreSQL connector derives it (`PostgresDefaultValueConverter`): a literal (`42`, `'x'::text`,
/// `'on_duty'::duty`) is that value; a function call (`nextval(…)`, `now()`) or `CURRENT_TIMESTAMP` is
/// the type's placeholder (0, "", epoch); `NULL::…`, expressions it cannot read and types it has no
/// mapper for have no default. The value is written by the column's own codec.
enum ColumnDefault {
    /// Debezium's placeholder for a generated default, by the column's type as `format_type` names it
    /// (nil: Debezium has no default mapper for the type).
    static func placeholder(type: String) -> String? {
        let base = type.replacingOccurrences(of: #"\([0-9, ]*\)"#, with: "", options: .regularExpression)
        switch base {
        case "smallint", "integer", "bigint": return "0"
        case "real", "double precision", "numeric": return "0.0"
        case "boolean": return "false"
        case "text", "character varying", "character", "xml": return ""
        case "json", "jsonb": return "{}"
        case "uuid": return "00000000-0000-0000-0000-000000000000"
        case "bit": return "00"
        case "bit varying": return "0"
        case "date": return "1970-01-01"
        case "time without time zone": return "00:00:00"
        case "timestamp without time zone": return "1970-01-01 00:00:00"
        case "timestamp with time zone": return "1970-01-01 00:00:00+00"
        // Debezium's placeholder is `epoch`, which its interval parser refuses: a literal only.
        case "interval": return ""
        default: return nil
        }
    }

    static let currentDateTimes: Set<String> = ["current_timestamp", "current_time", "current_date", "localtime", "localtimestamp"]

    /// The default's JSON for `column` (nil: none).
    static func json(_ column: TableDefinition.Column, codec: ColumnCodec) -> [UInt8]? {
        guard let expression = column.defaultExpression?.trimmingCharacters(in: .whitespaces), !column.isGenerated, !codec.isStruct,
              !expression.hasPrefix("NULL::") else { return nil }
        let isEnum: Bool
        if case .string(let name, _) = codec, name == "io.debezium.data.Enum" { isEnum = true } else { isEnum = false }
        let text: String
        if isEnum {
            // Only `'label'::the_enum` (Debezium's extractEnumDefault).
            guard expression.hasPrefix("'"), let cast = expression.range(of: "'::", options: .backwards) else { return nil }
            text = String(expression[expression.index(after: expression.startIndex)..<cast.lowerBound]).replacingOccurrences(of: "''", with: "'")
        } else {
            guard let placeholder = placeholder(type: column.type) else { return nil }
            if expression.range(of: #"^[(]?[A-Za-z0-9_.]+\((.+(, ?.+)*)?\)"#, options: .regularExpression) != nil
                || currentDateTimes.contains(expression.lowercased()) {
                if case .interval = codec { return nil }
                if case .intervalString = codec { return nil }
                text = placeholder
            } else if let open = expression.firstIndex(of: "'") {
                // The first quoted literal, `''` as `'`.
                var s = "", i = expression.index(after: open)
                while i < expression.endIndex {
                    if expression[i] == "'" {
                        let next = expression.index(after: i)
                        if next < expression.endIndex, expression[next] == "'" { s.append("'"); i = expression.index(after: next); continue }
                        break
                    }
                    s.append(expression[i]); i = expression.index(after: i)
                }
                text = s
            } else {
                text = expression
            }
        }
        // A literal the codec must copy as it is (numbers) has to be one.
        switch codec {
        case .integer: guard Int64(text) != nil else { return nil }
        case .float, .decimalDouble: guard Double(text) != nil else { return nil }
        case .boolean: guard ["true", "false"].contains(text.lowercased()) else { return nil }
        default: break
        }
        var j = JSONText(capacity: 32)
        guard codec.value(Array(text.utf8), into: &j) else { return nil }
        return j.bytes
    }
}

extension ColumnCodec {
    /// The value Debezium's converters fall back to for a NOT NULL column without a value (a delete's
    /// old row under REPLICA IDENTITY DEFAULT carries only the key): zero, empty, the epoch
    /// (`JdbcValueConverters.convertValue`'s fallback; DBZ-1141). Keeps such events valid for a sink.
    var fallback: [UInt8] {
        switch self {
        case .boolean, .bit1: return Array("false".utf8)
        case .integer, .date, .timestamp, .time, .interval: return Array("0".utf8)
        case .float, .decimalDouble: return Array("0.0".utf8)
        case .string, .bytes, .bits: return Array("\"\"".utf8)
        case .decimalString: return Array("\"0\"".utf8)
        case .zonedTimestamp: return Array("\"1970-01-01T00:00:00Z\"".utf8)
        case .zonedTime: return Array("\"00:00:00Z\"".utf8)
        case .intervalString: return Array("\"P0Y0M0DT0H0M0S\"".utf8)
        case .decimalPrecise: return Array("\"AA==\"".utf8)
        case .variableScaleDecimal: return Array("{\"scale\":0,\"value\":\"AA==\"}".utf8)
        case .money(let inner): return inner.fallback
        case .hstoreJSON: return Array("\"{}\"".utf8)
        case .hstoreMap: return Array("{}".utf8)
        case .point:
            var j = JSONText(capacity: 96)
            _ = value(Array("(0,0)".utf8), into: &j)
            return j.bytes
        case .array: return Array("[]".utf8)
        }
    }
}
