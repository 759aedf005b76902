/// The Kafka Connect schemas of Debezium's PostgreSQL events, as its `JsonConverter` writes them with
/// `schemas.enable=true`: names and fields as Debezium 2.x names them (docs/fan-out.md cites each).
enum DebeziumSchema {
    /// `PREFIX.SCHEMA.TABLE.Key`: the key columns.
    static func key(_ t: PublishedTable, prefix: String) -> [UInt8] {
        var j = JSONText(capacity: 256)
        j.raw("{\"type\":\"struct\",\"fields\":[")
        for (n, i) in t.keyPositions.enumerated() {
            if n > 0 { j.raw(",") }
            t.codecs[i].schema(field: t.columns[i].name, optional: t.optional[i], default: t.defaults[i], into: &j)
        }
        j.raw("],\"optional\":false,")
        j.key("name"); j.string("\(prefix).\(t.schema).\(t.name).Key")
        j.raw("}")
        return j.bytes
    }

    /// `PREFIX.SCHEMA.TABLE.Value`: every column (as `before` / `after`).
    static func value(_ t: PublishedTable, prefix: String, field: String, into j: inout JSONText) {
        j.raw("{\"type\":\"struct\",\"fields\":[")
        for i in t.columns.indices {
            if i > 0 { j.raw(",") }
            t.codecs[i].schema(field: t.columns[i].name, optional: t.optional[i], default: t.defaults[i], into: &j)
        }
        j.raw("],\"optional\":true,")
        j.key("name"); j.string("\(prefix).\(t.schema).\(t.name).Value")
        j.raw(",\"field\":\"\(field)\"}")
    }

    static func source(field: String) -> String {
        "{\"type\":\"struct\",\"fields\":["
            + "{\"type\":\"string\",\"optional\":false,\"field\":\"version\"},"
            + "{\"type\":\"string\",\"optional\":false,\"field\":\"connector\"},"
            + "{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},"
            + "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},"
            + "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Enum\",\"version\":1,"
            + "\"parameters\":{\"allowed\":\"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental\"},"
            + "\"default\":\"false\",\"field\":\"snapshot\"},"
            + "{\"type\":\"string\",\"optional\":false,\"field\":\"db\"},"
            + "{\"type\":\"string\",\"optional\":true,\"field\":\"sequence\"},"
            + "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},"
            + "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"},"
            + "{\"type\":\"string\",\"optional\":false,\"field\":\"schema\"},"
            + "{\"type\":\"string\",\"optional\":false,\"field\":\"table\"},"
            + "{\"type\":\"int64\",\"optional\":true,\"field\":\"txId\"},"
            + "{\"type\":\"int64\",\"optional\":true,\"field\":\"lsn\"},"
            + "{\"type\":\"int64\",\"optional\":true,\"field\":\"xmin\"},"
            + "{\"type\":\"string\",\"optional\":true,\"field\":\"commit_lsn\"},"
            + "{\"type\":\"string\",\"optional\":true,\"field\":\"end_lsn\"}"
            + "],\"optional\":false,\"name\":\"io.debezium.connector.postgresql.Source\",\"field\":\"\(field)\"}"
    }

    static let transactionBlock =
        "{\"type\":\"struct\",\"fields\":["
        + "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
        + "{\"type\":\"int64\",\"optional\":false,\"field\":\"total_order\"},"
        + "{\"type\":\"int64\",\"optional\":false,\"field\":\"data_collection_order\"}"
        + "],\"optional\":true,\"name\":\"event.block\",\"version\":1,\"field\":\"transaction\"}"

    /// `PREFIX.SCHEMA.TABLE.Envelope`, version 1.
    static func envelope(_ t: PublishedTable, prefix: String) -> [UInt8] {
        var j = JSONText(capacity: 4096)
        j.raw("{\"type\":\"struct\",\"fields\":[")
        value(t, prefix: prefix, field: "before", into: &j)
        j.raw(",")
        value(t, prefix: prefix, field: "after", into: &j)
        j.raw(",")
        j.raw(source(field: "source"))
        j.raw(",")
        j.raw(transactionBlock)
        j.raw(",{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},"
              + "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"}],\"optional\":false,")
        j.key("name"); j.string("\(prefix).\(t.schema).\(t.name).Envelope")
        j.raw(",\"version\":1}")
        return j.bytes
    }

    static let messageKey = Array(("{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":true,\"field\":\"prefix\"}],"
        + "\"optional\":false,\"name\":\"io.debezium.connector.postgresql.MessageKey\"}").utf8)

    static let messageValue = Array(("{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
        + "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"}," + source(field: "source") + ","
        + "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":true,\"field\":\"prefix\"},"
        + "{\"type\":\"bytes\",\"optional\":true,\"field\":\"content\"}],\"optional\":true,\"name\":\"io.debezium.connector.postgresql.Message\",\"field\":\"message\"}"
        + "],\"optional\":false,\"name\":\"io.debezium.connector.postgresql.MessageValue\"}").utf8)

    static let transactionKey = Array(("{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"id\"}],"
        + "\"optional\":false,\"name\":\"io.debezium.connector.common.TransactionMetadataKey\"}").utf8)

    static let transactionValue = Array(("{\"type\":\"struct\",\"fields\":["
        + "{\"type\":\"string\",\"optional\":false,\"field\":\"status\"},"
        + "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
        + "{\"type\":\"int64\",\"optional\":true,\"field\":\"event_count\"},"
        + "{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"data_collection\"},"
        + "{\"type\":\"int64\",\"optional\":false,\"field\":\"event_count\"}],\"optional\":false},\"optional\":true,\"field\":\"data_collections\"},"
        + "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"}"
        + "],\"optional\":false,\"name\":\"io.debezium.connector.common.TransactionMetadataValue\"}").utf8)
}
