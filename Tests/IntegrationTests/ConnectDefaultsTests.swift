import Archive
import FanOut
import Foundation
import XCTest

/// Under `--kafka-format json-schema` the defaults are Debezium's; the schemaless `json` format keeps
/// Logbook's (docs/fan-out.md names each difference).
final class ConnectDefaultsTests: XCTestCase {
    func testJsonSchemaTakesDebeziumsDefaultsAndJsonKeepsItsOwn() throws {
        var settings = EventSettings()
        XCTAssertEqual(settings.decimalHandling, .string, "json: numerics as their exact text")
        settings.format = .jsonSchema
        XCTAssertEqual(settings.decimalHandling, .precise, "json-schema: decimal.handling.mode=precise")
        XCTAssertEqual(settings.hstore, .json)
        XCTAssertEqual(settings.interval, .numeric)
        XCTAssertEqual(settings.binary, .bytes)
        XCTAssertEqual(settings.time, .adaptive)
        settings.decimal = .double
        XCTAssertEqual(settings.decimalHandling, .double, "a setting given wins")

        try forEachServer { box in
            try box.sql("CREATE TABLE priced (id int PRIMARY KEY, amount numeric(10,2) NOT NULL)")
            try box.sql("CREATE TABLE readings (sensor text, value int); ALTER TABLE readings REPLICA IDENTITY FULL")
            _ = try box.captureToNow(["public.priced", "public.readings"])
            try box.sql("INSERT INTO priced VALUES (1, 12.50); INSERT INTO readings VALUES ('a', 1)")
            _ = try box.captureToNow(["public.priced", "public.readings"])
            for format in [EventFormat.json, .jsonSchema] {
                let cluster = try KafkaMockCluster(brokers: 1)
                cluster.createTopic("logbook.public.priced", partitions: 1)
                cluster.createTopic("logbook.public.readings", partitions: 1)
                var config = KafkaConfig(brokers: cluster.bootstrapServers)
                config.extra = [("log_level", "0")]
                config.events.format = format
                var options = Publisher.Options(kafka: config)
                options.recordPosition = false
                let publisher = try Publisher(archive: box.archive, options: options, logger: box.logger)
                try publisher.run(follow: false, durable: { nil }, shouldStop: { false })
                func payload(_ s: String?) -> [String: Any]? {
                    let o = s.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                    return format == .jsonSchema ? o?["payload"] as? [String: Any] : o
                }
                let priced = try kcatMessages(cluster, topic: "logbook.public.priced")
                XCTAssertEqual(priced.count, 1, "[\(box.server)] \(format)")
                let amount = (payload(priced.first?.value)?["after"] as? [String: Any])?["amount"] as? String
                let readings = try kcatMessages(cluster, topic: "logbook.public.readings")
                XCTAssertEqual(readings.count, 1, "[\(box.server)] \(format)")
                switch format {
                case .json:
                    XCTAssertEqual(amount, "12.50", "[\(box.server)] json: the exact text")
                    XCTAssertEqual(payload(readings.first?.key)?["sensor"] as? String, "a", "[\(box.server)] json: a table without a key is keyed by its row")
                case .jsonSchema:
                    XCTAssertEqual(amount, Data([0x04, 0xE2]).base64EncodedString(), "[\(box.server)] json-schema: Decimal, 1250 unscaled")
                    XCTAssertNil(readings.first?.key, "[\(box.server)] json-schema: Debezium's null key")
                    for m in priced + readings {
                        XCTAssertEqual(JsonConverterRules.errors(m.key), [])
                        XCTAssertEqual(JsonConverterRules.errors(m.value), [])
                    }
                }
            }
        }
    }
}

/// Field defaults derived as Debezium's `PostgresDefaultValueConverter` derives them.
final class ConnectFieldDefaultTests: XCTestCase {
    func testDefaultsFollowDebeziumsDerivation() throws {
        try forEachServer { box in
            try box.sql("CREATE TYPE mood AS ENUM ('calm', 'busy')")
            try box.sql("""
                CREATE TABLE defaults (id bigserial PRIMARY KEY, sum_expr int DEFAULT (1 + 2), token uuid DEFAULT gen_random_uuid(),
                  at timestamptz DEFAULT now(), day date DEFAULT '2026-01-02', note text DEFAULT NULL::text, quote text DEFAULT 'it''s',
                  ok boolean DEFAULT true, price numeric(5,2) DEFAULT 1.5, raw bytea DEFAULT '\\x00', span interval DEFAULT '1 day',
                  m mood DEFAULT 'busy', neg int DEFAULT -4, gen int GENERATED ALWAYS AS (neg * 2) STORED)
                """)
            _ = try box.captureToNow(["public.defaults"])
            try box.sql("INSERT INTO defaults DEFAULT VALUES")
            _ = try box.captureToNow(["public.defaults"])
            let cluster = try KafkaMockCluster(brokers: 1)
            cluster.createTopic("logbook.public.defaults", partitions: 1)
            var config = KafkaConfig(brokers: cluster.bootstrapServers)
            config.extra = [("log_level", "0")]
            config.events.format = .jsonSchema
            var options = Publisher.Options(kafka: config)
            options.recordPosition = false
            let publisher = try Publisher(archive: box.archive, options: options, logger: box.logger)
            try publisher.run(follow: false, durable: { nil }, shouldStop: { false })
            let got = try kcatMessages(cluster, topic: "logbook.public.defaults")
            XCTAssertEqual(got.count, 1, "[\(box.server)]")
            for m in got { XCTAssertEqual(JsonConverterRules.errors(m.key), []); XCTAssertEqual(JsonConverterRules.errors(m.value), []) }
            let value = try XCTUnwrap(got.first?.value.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
            let after = ((value["schema"] as? [String: Any])?["fields"] as? [[String: Any]])?.first { $0["field"] as? String == "after" }
            func def(_ c: String) -> Any? { ((after?["fields"] as? [[String: Any]])?.first { $0["field"] as? String == c })?["default"] }
            XCTAssertEqual(def("id") as? Int, 0, "[\(box.server)] nextval(): the placeholder 0")
            XCTAssertNil(def("sum_expr"), "an expression: none")
            XCTAssertEqual(def("token") as? String, "00000000-0000-0000-0000-000000000000", "a function: the nil UUID")
            XCTAssertEqual(def("at") as? String, "1970-01-01T00:00:00.000000Z", "now(): the epoch")
            XCTAssertEqual(def("day") as? Int, 20455, "a literal: its days since 1970")
            XCTAssertNil(def("note"), "NULL::text: none")
            XCTAssertEqual(def("quote") as? String, "it's")
            XCTAssertEqual(def("ok") as? Bool, true)
            XCTAssertEqual(def("price") as? String, Data([0x00, 0x96]).base64EncodedString(), "1.50 is 150 unscaled")
            XCTAssertNil(def("raw"), "bytea: Debezium has no mapper")
            XCTAssertEqual((def("span") as? NSNumber)?.int64Value, 86_400_000_000, "an interval literal: its µs")
            XCTAssertEqual(def("m") as? String, "busy")
            XCTAssertEqual(def("neg") as? Int, -4)
            XCTAssertNil(def("gen"), "a generated column's expression is not a default")
        }
    }
}
