import PGWire

/// Topic names as Debezium's default topic naming makes them (`topic.prefix` `.` schema `.` table),
/// valid on a broker: every character outside `[a-zA-Z0-9._-]` becomes `_` (one per UTF-16 unit, as
/// Java counts characters). Two tables whose names map to one topic are refused.
public enum TopicName {
    static func isValid(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "." || c == "_" || c == "-"
    }

    /// `name` with each invalid character as `_`.
    public static func sanitized(_ name: String) -> String {
        var out = ""
        out.reserveCapacity(name.utf8.count)
        for c in name.unicodeScalars {
            if isValid(c) { out.unicodeScalars.append(c) } else { out += String(repeating: "_", count: UTF16.width(c)) }
        }
        return out
    }

    /// `PREFIX.SCHEMA.TABLE` with the schema and table sanitized.
    public static func of(prefix: String, schema: String, table: String) -> String {
        "\(prefix).\(sanitized(schema)).\(sanitized(table))"
    }

    /// A topic prefix a broker accepts: `[a-zA-Z0-9._-]`, not empty, as Debezium validates `topic.prefix`.
    public static func checkPrefix(_ prefix: String) throws {
        guard !prefix.isEmpty, prefix.unicodeScalars.allSatisfy(isValid) else {
            throw KafkaError(.configuration, "the topic prefix '\(prefix)' has characters a Kafka topic name cannot have",
                             fix: "use only letters, digits, '.', '_' and '-' in --kafka-topic-prefix (it is Debezium's topic.prefix)")
        }
    }

    /// Refuses tables (`schema.table` as QualifiedName prints them) of which two map to one topic.
    public static func checkDistinct(_ tables: [QualifiedName], prefix: String) throws {
        var seen: [String: QualifiedName] = [:]
        for t in tables {
            let topic = of(prefix: prefix, schema: t.schema, table: t.name)
            if let other = seen[topic], other != t { throw collision(topic, other, t) }
            seen[topic] = t
        }
    }

    static func collision(_ topic: String, _ a: QualifiedName, _ b: QualifiedName) -> KafkaError {
        KafkaError(.configuration, "tables \(a) and \(b) would both publish to topic \(topic) (characters outside [a-zA-Z0-9._-] become '_')",
                   fix: "rename one of the tables, or publish them with separate --tables and --kafka-topic-prefix")
    }
}
